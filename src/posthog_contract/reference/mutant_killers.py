"""The tests expected to kill the mutants declared before ``mutants.declare(killed_by=...)`` existed.

Kept apart so that the resource modules declaring them need no edit; a mutant declared with
``killed_by`` does not appear here. Entries are test modules or node ids (prefixes match). The
generated part (``tests/test_property_based.py``, ``tests/test_stateful.py``) is named where one of its
checks (status, schema, content type, the suite's own checks) judges the broken rule.
"""

from __future__ import annotations

from collections.abc import Mapping

_GENERATED = ("tests/test_property_based.py", "tests/test_stateful.py")
#: the derived per-field checks of every write (tests/test_writes.py); a killer names one item
_FIELDS = "tests/test_writes.py::test_write_stores_each_field_and_ignores_the_rest"
_SHAPES = ("tests/test_dashboards.py", *_GENERATED)
_EVENTS = ("tests/test_events.py", "tests/test_pagination.py", "tests/test_property_based.py")
_LISTS = ("tests/test_pagination.py", "tests/test_dashboard_lifecycle.py", *_GENERATED)

EXPECTED_KILLERS: Mapping[str, tuple[str, ...]] = {
    # auth (§1.3-§1.5)
    "missing_key_accepted": (
        "tests/test_auth.py",
        "tests/test_writes.py::test_every_operation_refuses_a_request_without_a_key",
        "tests/test_property_based.py",
    ),
    "readonly_key_may_write": ("tests/test_writes.py::test_every_write_refuses_a_read_only_key",),
    "other_project_served": ("tests/test_auth.py::test_another_organisations_project_is_refused",
                             "tests/test_writes.py::test_every_write_to_another_organisations_project_is_403"),
    "current_project_alias_unsupported": ("tests/test_auth.py::test_current_project_alias_serves_the_project",),
    "non_integer_project_500": ("tests/test_auth.py::test_unknown_project_is_404", "tests/test_property_based.py"),
    "invalid_key_is_403": ("tests/test_auth.py::test_unknown_key_is_401_authentication_failed",),
    # capture (§9)
    "capture_drops_events": ("tests/test_events.py", "tests/test_pagination.py"),
    "capture_accepts_missing_token": ("tests/test_capture.py::test_capture_without_a_token_is_4xx",),
    "capture_unknown_token_200": ("tests/test_capture.py::test_capture_with_an_unknown_token_is_refused",),
    "capture_status_wrong": ("tests/test_capture.py",),
    # collaborators (§4)
    "collaborator_list_paginated": ("tests/test_collaborators.py", "tests/test_property_based.py"),
    "collaborator_delete_returns_200_body": (
        "tests/test_collaborators.py::test_remove_collaborator_is_204_and_unlisted",
        "tests/test_property_based.py",
    ),
    "collaborator_level21_accepted": ("tests/test_collaborators.py::test_add_collaborator_at_level_21_is_400",),
    "collaborator_duplicate_accepted": ("tests/test_collaborators.py::test_add_twice_is_400",),
    "collaborator_owner_accepted": ("tests/test_collaborators.py::test_add_the_owner_is_400",),
    "collaborator_patch_allowed": (
        "tests/test_collaborators.py::test_patch_a_collaborator",
        "tests/test_property_based.py",
    ),
    # dashboard bodies (§2.1)
    "is_shared_not_updated": ("tests/test_sharing.py", "tests/test_stateful.py"),
    "dashboard_missing_team_id": _SHAPES,
    "dashboard_created_by_string": _SHAPES,
    "dashboard_restriction_level_string": _SHAPES,
    "list_includes_tiles": ("tests/test_dashboards.py::test_list_items_carry_no_tiles", "tests/test_property_based.py"),
    "dashboard_wrong_content_type": _SHAPES,
    "error_envelope_missing_attr": _SHAPES,
    # dashboards (§2.2-§2.8)
    "dashboard_delete_returns_204": _SHAPES,
    "dashboard_delete_has_body": _SHAPES,
    "patch_not_stored": (f"{_FIELDS}[dashboards_partial_update-", "tests/test_stateful.py"),
    "soft_delete_ignored": ("tests/test_dashboard_lifecycle.py", "tests/test_stateful.py"),
    "undelete_refused": ("tests/test_dashboard_lifecycle.py", "tests/test_stateful.py"),
    "deleted_listed": ("tests/test_dashboard_lifecycle.py", "tests/test_stateful.py"),
    "unknown_dashboard_500": ("tests/test_dashboards.py::test_unknown_dashboard_is_404_envelope", *_GENERATED),
    "invalid_restriction_level_accepted": (
        "tests/test_dashboards.py::test_invalid_restriction_level_is_400_with_attr",
        "tests/test_property_based.py",
    ),
    "creation_mode_writable": (f"{_FIELDS}[dashboards_partial_update-creation_mode]",
                               f"{_FIELDS}[dashboards_update-creation_mode]"),
    "tags_not_stored": (f"{_FIELDS}[dashboards_partial_update-tags]", f"{_FIELDS}[dashboards_create-tags]",
                        f"{_FIELDS}[dashboards_update-tags]"),
    # move_tile (§5), template (§6)
    "tile_not_moved": ("tests/test_move_tile.py",
                       "tests/test_writes.py::test_write_changes_only_what_the_contract_says"),
    "move_tile_unknown_tile_200": ("tests/test_move_tile.py::test_move_tile_of_an_unknown_tile_is_404",),
    "move_tile_missing_field_500": (
        "tests/test_move_tile.py::test_move_tile_without_a_required_key_is_400",
        "tests/test_property_based.py",
    ),
    "template_returns_201": ("tests/test_template.py", "tests/test_property_based.py"),
    "template_missing_name_accepted": ("tests/test_template.py::test_template_without_a_name_is_400_naming_the_key",),
    "template_empty_tiles_accepted": ("tests/test_template.py::test_template_with_no_tiles_is_400",),
    # events (§7, §8)
    "events_filter_event_ignored": _EVENTS,
    "events_filter_distinct_id_ignored": _EVENTS,
    "events_filter_after_ignored": _EVENTS,
    "events_filter_before_ignored": _EVENTS,
    "events_filter_properties_ignored": _EVENTS,
    "events_filter_person_ignored": _EVENTS,
    "events_limit_ignored": _EVENTS,
    "events_limit_not_capped": _EVENTS,
    "events_order_ascending": _EVENTS,
    "events_next_missing": _EVENTS,
    "events_next_relative": _EVENTS,
    "events_next_wrong_host": _EVENTS,
    "events_next_drops_filters": _EVENTS,
    "events_next_repeats_page": _EVENTS,
    "events_next_duplicates_boundary": _EVENTS,
    "events_next_when_exact": _EVENTS,
    "event_properties_string": _EVENTS,
    "event_timestamp_naive": _EVENTS,
    "event_person_always_null": _EVENTS,
    "event_retrieve_wrong_event": _EVENTS,
    "event_retrieve_unknown_200": _EVENTS,
    "event_retrieve_bad_uuid_404": _EVENTS,
    "events_unparsable_properties_500": _EVENTS,
    "events_csv_as_json": _EVENTS,
    "events_content_type_text": _EVENTS,
    # dashboards list pages (§1.6)
    "list_next_missing": _LISTS,
    "list_next_relative": _LISTS,
    "list_count_is_page_size": _LISTS,
    # the host's own OpenAPI (drift)
    "schema_doc_drops_team_id": ("tests/test_schema_drift.py",),
    # sharing (§3)
    "sharing_array": ("tests/test_sharing.py", *_GENERATED),
    "sharing_enable_not_stored": ("tests/test_sharing.py", "tests/test_stateful.py"),
    "sharing_token_not_rotated": (
        "tests/test_sharing.py::test_refresh_issues_a_different_token",
        "tests/test_stateful.py",
    ),
    "sharing_of_deleted_dashboard_served": (
        "tests/test_dashboard_lifecycle.py::test_soft_deleted_dashboard_subresources_are_404",
        "tests/test_stateful.py",
    ),
}
