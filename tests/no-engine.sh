#!/usr/bin/env bash
# The tier of the test suite that needs no container engine: every unit test
# of the workspace and the integration tests that run `run` without Docker
# (the CLI, tasks.toml, the graph and scheduler, the sandbox, files, HTTP,
# limits, plugins, import, dry-run...). For a contributor's inner loop; CI
# and the README's `cargo test --workspace` run everything.
#
# The engine tests are left out by name (below). DOCKER_HOST points at a
# socket that does not exist, so an engine test missing from this list fails
# loudly here instead of quietly using an engine; add it to the list.
#
#   bash tests/no-engine.sh            # extra arguments go to cargo test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Whole modules of tests/ that start containers.
modules=(
    backup:: capability_container:: capability_container_engine:: capability_netns::
    chaos:: ha_stack:: quickstart:: quickstart_build:: quickstart_fixtures:: sanitize::
)
# Engine tests in modules that are otherwise engine-free.
tests=(
    capability_cancel::a_listening_plugin_cleans_up_and_other_tasks_are_stopped_at_once
    hostile::a_legacy_link_alias_reaches_neither_the_linked_container_nor_its_volume
    hostile::a_list_filter_never_shows_or_reaches_an_ungranted_container
    hostile::container_names_that_leave_the_grant_are_refused_for_every_operation
    hostile::star_grants_never_reach_the_host_through_volumes_networks_or_options
    scan::alpine_image_of_a_granted_container
    scan::an_ungranted_image_is_refused
    scan::docker_save_archive_layers_and_sarif
    scan::hardening_audit_of_containers_in_any_state
    scan::real_debian_image_postgres
    scan_update::the_critical_gate_fails_on_a_real_critical_cve_of_the_postgres_image
    # plugins/sanitize/engine/tests/postgres.rs: restores into real PostgreSQL
    chinook_sanitizes_and_its_samples_restore_with_every_constraint
    northwind_sanitizes_and_its_samples_restore_with_every_constraint
    dumps_of_pg_dump_13_and_17_read_like_15
    every_shape_pg_dump_writes_sanitizes_and_restores
    a_shop_sanitized_with_a_policy_from_column_names_keeps_no_original_personal_data
)
skips=()
for name in "${modules[@]}" "${tests[@]}"; do skips+=(--skip "$name"); done

DOCKER_HOST=unix:///nonexistent/run-no-engine-tier.sock \
    cargo test --workspace "$@" -- "${skips[@]}"
