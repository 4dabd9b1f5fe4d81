"""The reference server's world (§0.3), seeded deterministically on an empty database.

One organisation with PostHog's paid access-control feature, one project (id 1), a second
organisation and project (id 2) the key owner is not in; the key owner (admin), a plain member
(eligible collaborator), an outsider; personal keys with the scopes the suite needs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .storage import Database
from .timeutil import iso_z, now

ORG_ID = "0190b7a1-0000-7000-8000-000000000001"
OTHER_ORG_ID = "0190b7a1-0000-7000-8000-000000000002"
PROJECT_ID = 1
OTHER_PROJECT_ID = 2
PROJECT_API_KEY = "phc_reference0project0one0000000000000000000"
OTHER_PROJECT_API_KEY = "phc_reference0project0two0000000000000000000"

OWNER_UUID = "0190b7a1-0000-7000-8000-0000000000a1"
MEMBER_UUID = "0190b7a1-0000-7000-8000-0000000000a2"
OUTSIDER_UUID = "0190b7a1-0000-7000-8000-0000000000a3"

READ_SCOPES = ["dashboard:read", "sharing_configuration:read", "query:read"]

#: one quick filter per project (PostHog's QuickFilter; its API is session-only, scope_object "INTERNAL",
#: so a personal key can name quick filters in a dashboard's quick_filter_ids but never list or create them)
QUICK_FILTER_ID = "0190b7a1-0000-7000-8000-0000000000f1"
OTHER_PROJECT_QUICK_FILTER_ID = "0190b7a1-0000-7000-8000-0000000000f2"
#: one global data color theme (PostHog's DataColorTheme with no team: offered to every project, as PostHog's own
#: default theme is); a dashboard's data_color_theme_id may name it. Its API (``data_color_themes``) is outside
#: the contract, so the credentials line hands the id over (POSTHOG_DATA_COLOR_THEME_ID)
DATA_COLOR_THEME_ID = 1

#: label -> (key value, owner uuid, scopes, scoped projects or None)
KEYS: dict[str, tuple[str, str, list[str], list[int] | None]] = {
    "full": ("phx_reference0full0access0key000000000000000", OWNER_UUID, ["*"], None),
    "readonly": ("phx_reference0read0only0key00000000000000000", OWNER_UUID, READ_SCOPES, None),
    "no_query": (
        "phx_reference0no0query0read0key00000000000000",
        OWNER_UUID,
        ["dashboard:write", "sharing_configuration:write", "user:read", "organization_member:read"],
        None,
    ),
    "other_project": ("phx_reference0other0project0key0000000000000", OWNER_UUID, ["*"], [OTHER_PROJECT_ID]),
    "member": ("phx_reference0member0key000000000000000000000", MEMBER_UUID, ["*"], None),
    "outsider": ("phx_reference0outsider0key0000000000000000000", OUTSIDER_UUID, ["*"], None),
    # a legacy key created before PostHog had scopes: no scopes at all, allowed everything, even
    # methods the route declares no action for (posthog/permissions.py, APIScopePermission:
    # "Legacy API keys have no scopes and are allowed to do anything"), so those get DRF's 405
    "legacy": ("phx_reference0legacy0unscoped0key000000000000", OWNER_UUID, [], None),
}


@dataclass(frozen=True)
class Credentials:
    """The one JSON line the server prints when ready (and writes to ``--credentials``)."""

    base_url: str
    project_id: int
    other_project_id: int
    personal_api_key: str
    readonly_api_key: str
    other_project_api_key: str  # a personal key restricted to the other project
    project_api_key: str  # the capture key of project 1
    collaborator_uuid: str
    member_api_key: str
    no_query_api_key: str
    outsider_api_key: str
    other_project_capture_key: str
    legacy_api_key: str  # unscoped (pre-scopes) personal key of the key owner
    data_color_theme_id: int  # a data color theme dashboards may name (POSTHOG_DATA_COLOR_THEME_ID)
    quick_filter_id: str  # a quick filter of project 1 (POSTHOG_QUICK_FILTER_ID)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(", ", ": "))


def credentials(base_url: str) -> Credentials:
    return Credentials(
        base_url=base_url,
        project_id=PROJECT_ID,
        other_project_id=OTHER_PROJECT_ID,
        personal_api_key=KEYS["full"][0],
        readonly_api_key=KEYS["readonly"][0],
        other_project_api_key=KEYS["other_project"][0],
        project_api_key=PROJECT_API_KEY,
        collaborator_uuid=MEMBER_UUID,
        member_api_key=KEYS["member"][0],
        no_query_api_key=KEYS["no_query"][0],
        outsider_api_key=KEYS["outsider"][0],
        other_project_capture_key=OTHER_PROJECT_API_KEY,
        legacy_api_key=KEYS["legacy"][0],
        data_color_theme_id=DATA_COLOR_THEME_ID,
        quick_filter_id=QUICK_FILTER_ID,
    )


def apply_plan(db: Database, features_off: frozenset[str]) -> None:
    """The organisation's paid access-control feature follows ``--without-feature access-control``."""
    with db.write() as c:
        c.execute("UPDATE organizations SET access_control = ? WHERE id = ?",
                  (0 if "access-control" in features_off else 1, ORG_ID))


def seed(db: Database) -> None:
    """Insert the world once; a database that already has it (``--db`` reuse) is left alone."""
    if db.scalar("SELECT COUNT(*) FROM organizations"):
        _seed_quick_filters(db)  # a --db file from before quick filters (and themes) existed
        return
    stamp = iso_z(now())
    with db.write() as c:
        c.execute("INSERT INTO organizations VALUES (?, ?, 1)", (ORG_ID, "Reference Organisation"))
        c.execute("INSERT INTO organizations VALUES (?, ?, 1)", (OTHER_ORG_ID, "Other Organisation"))
        c.execute(
            "INSERT INTO projects VALUES (?, ?, ?, ?, ?, 'UTC')",
            (PROJECT_ID, "0190b7a1-0000-7000-8000-0000000000b1", ORG_ID, "Reference Project", PROJECT_API_KEY),
        )
        c.execute(
            "INSERT INTO projects VALUES (?, ?, ?, ?, ?, 'UTC')",
            (
                OTHER_PROJECT_ID,
                "0190b7a1-0000-7000-8000-0000000000b2",
                OTHER_ORG_ID,
                "Other Project",
                OTHER_PROJECT_API_KEY,
            ),
        )
        users = [
            (
                1,
                OWNER_UUID,
                "owner-distinct-id",
                "Olive",
                "Owner",
                "owner@reference.posthog.test",
                1,
                "engineering",
                PROJECT_ID,
            ),
            (
                2,
                MEMBER_UUID,
                "member-distinct-id",
                "Max",
                "Member",
                "member@reference.posthog.test",
                1,
                "product",
                PROJECT_ID,
            ),
            (
                3,
                OUTSIDER_UUID,
                "outsider-distinct-id",
                "Otto",
                "Outsider",
                "outsider@other.posthog.test",
                0,
                None,
                OTHER_PROJECT_ID,
            ),
        ]
        c.executemany(
            "INSERT INTO users (id, uuid, distinct_id, first_name, last_name, email, is_email_verified,"
            " role_at_organization, current_project_id) VALUES (?,?,?,?,?,?,?,?,?)",
            users,
        )
        c.executemany(
            "INSERT INTO memberships VALUES (?, ?, ?, ?, ?)",
            [
                ("0190b7a1-0000-7000-8000-0000000000c1", ORG_ID, 1, 8, stamp),
                ("0190b7a1-0000-7000-8000-0000000000c2", ORG_ID, 2, 1, stamp),
                ("0190b7a1-0000-7000-8000-0000000000c3", OTHER_ORG_ID, 3, 15, stamp),
            ],
        )
        user_ids = {OWNER_UUID: 1, MEMBER_UUID: 2, OUTSIDER_UUID: 3}
        c.executemany(
            "INSERT INTO personal_keys (label, value, user_id, scopes, scoped_teams) VALUES (?,?,?,?,?)",
            [
                (label, value, user_ids[owner], json.dumps(scopes), None if teams is None else json.dumps(teams))
                for label, (value, owner, scopes, teams) in KEYS.items()
            ],
        )
    _seed_quick_filters(db)


def _seed_quick_filters(db: Database) -> None:
    with db.write() as c:
        c.executemany(
            "INSERT OR IGNORE INTO quick_filters (id, project_id, name) VALUES (?, ?, ?)",
            [(QUICK_FILTER_ID, PROJECT_ID, "Browser"), (OTHER_PROJECT_QUICK_FILTER_ID, OTHER_PROJECT_ID, "Browser")],
        )
        c.execute("INSERT OR IGNORE INTO data_color_themes (id, project_id, name, colors) VALUES (?, NULL, ?, ?)",
                  (DATA_COLOR_THEME_ID, "Default Theme", json.dumps(["#1d4aff", "#621da6", "#42827e"])))
