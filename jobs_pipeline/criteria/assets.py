"""Assets `eligible_criteria` and `criteria_sets`."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
from pydantic import Field

from jobs_pipeline.apify.resource import ApifyResource
from jobs_pipeline.criteria.eligibility import count_eligible, key_eligible_criteria
from jobs_pipeline.criteria.policy import RefreshPolicyResource
from jobs_pipeline.criteria.selection import due_sets, load_set_states, within_cap_and_budget
from jobs_pipeline.database.demo import seed_demo_candidates
from jobs_pipeline.database.resource import AppDatabaseResource
from jobs_pipeline.observability.run_facts import ingestion_run_id, start_run, update_run
from jobs_pipeline.summaries import CriteriaSelection, EligibleCriteriaSummary, SelectedSet

PREVIEW_ROWS = 20


@dg.asset(group_name="ingestion", kinds={"sql"})
def eligible_criteria(
    context: dg.AssetExecutionContext,
    app_database: AppDatabaseResource,
    apify: ApifyResource,
    refresh_policy: RefreshPolicyResource,
) -> dg.Output[EligibleCriteriaSummary]:
    """Active criteria of candidates active within the pause window, each keyed to its set.

    Criteria that cannot be searched (empty or over-long keywords, control characters, an
    unknown source or remote mode) are skipped with a logged reason naming the criteria id.
    """
    apify.check_mode()
    now = datetime.now(UTC)
    engine = app_database.prepare_schema(context.log)
    if apify.is_demo:
        context.log.warning(
            "DEMO MODE: APIFY_TOKEN is not set, so actor runs go to the local Apify-compatible "
            "server with generated postings. Set APIFY_TOKEN to scrape real job boards."
        )
        added = seed_demo_candidates(engine, now)
        if added:
            context.log.info("Seeded %d demo candidates into the empty local database", added)
    start_run(engine, ingestion_run_id(context.run), now)

    cutoff = now - timedelta(days=refresh_policy.pause_after_inactive_days)
    keyed, rejected = key_eligible_criteria(engine, activity_cutoff=cutoff, now=now)
    criteria_count, set_count = count_eligible(engine, cutoff)
    update_run(
        engine,
        ingestion_run_id(context.run),
        criteria_eligible=criteria_count,
        criteria_rejected=len(rejected),
        sets_eligible=set_count,
    )
    context.log.info(
        "%d eligible criteria in %d criteria sets (candidates active since %s); "
        "%d newly keyed, %d skipped as unsearchable",
        criteria_count,
        set_count,
        cutoff.isoformat(timespec="seconds"),
        keyed,
        len(rejected),
    )
    summary = EligibleCriteriaSummary(
        run_started_at=now,
        activity_cutoff=cutoff,
        criteria_eligible=criteria_count,
        criteria_keyed=keyed,
        criteria_rejected=len(rejected),
        sets_eligible=set_count,
        rejected=tuple(rejected[:50]),
    )
    metadata: dict[str, dg.MetadataValue] = {
        "criteria_eligible": dg.MetadataValue.int(criteria_count),
        "criteria_keyed": dg.MetadataValue.int(keyed),
        "criteria_rejected": dg.MetadataValue.int(len(rejected)),
        "sets_eligible": dg.MetadataValue.int(set_count),
        "activity_cutoff": dg.MetadataValue.timestamp(cutoff),
    }
    if rejected:
        table = pd.DataFrame(
            [(item.criteria_id, item.reason) for item in rejected[:PREVIEW_ROWS]],
            columns=["criteria id", "reason"],
        )
        metadata["rejected_preview"] = dg.MetadataValue.md(table.to_markdown(index=False))
    return dg.Output(summary, metadata=metadata)


class CriteriaSetsConfig(dg.Config):
    """Launchpad options that narrow which criteria sets a run scrapes."""

    only_set_keys: list[str] = Field(
        default=[],
        description="Scrape only these criteria set keys (full keys or their first 16 "
        "characters), if they are eligible. Empty: the normal selection.",
    )
    retry_only: bool = Field(
        default=False, description="Scrape only sets marked for retry after a failure."
    )


@dg.asset(group_name="ingestion", kinds={"sql"})
def criteria_sets(
    context: dg.AssetExecutionContext,
    config: CriteriaSetsConfig,
    eligible_criteria: EligibleCriteriaSummary,
    app_database: AppDatabaseResource,
    apify: ApifyResource,
    refresh_policy: RefreshPolicyResource,
) -> dg.Output[CriteriaSelection]:
    """Criteria sets due for a refresh, in priority order, capped at the per-run maximum.

    Priority: never-fetched sets, then sets marked for retry, then the most overdue. Due sets
    beyond the cap are deferred to the next run and counted.
    """
    now = datetime.now(UTC)
    engine = app_database.get_engine()
    states = load_set_states(engine, eligible_criteria.activity_cutoff)
    stuck = [
        state
        for state in states
        if state.consecutive_failures >= refresh_policy.stuck_after_failures
    ]
    for state in stuck:
        context.log.warning(
            "Criteria set %s is stuck: it failed %d runs in a row; check its last error in "
            "criteria_sets.last_error",
            state.set_key[:16],
            state.consecutive_failures,
        )
    due = due_sets(states, refresh_policy, now)
    if config.retry_only:
        due = [item for item in due if item.state.retry_requested]
    if config.only_set_keys:
        wanted = {key.strip().lower() for key in config.only_set_keys}
        due = [
            item
            for item in due
            if item.state.set_key in wanted or item.state.set_key[:16] in wanted
        ]
    estimates = [apify.run_settings(item.state.source).estimated_usd for item in due]
    chosen = within_cap_and_budget(
        due,
        estimates,
        max_sets=refresh_policy.max_sets_per_run,
        max_usd=refresh_policy.max_estimated_usd_per_run,
    )
    selected = tuple(
        SelectedSet(
            criteria_set_id=due[index].state.criteria_set_id,
            set_key=due[index].state.set_key,
            source=due[index].state.source,
            canonical=due[index].state.canonical,
            member_count=due[index].state.member_count,
            reason=due[index].reason,
            last_success_at=due[index].state.last_success_at,
            estimated_usd=estimates[index],
            selected_at=now,
        )
        for index in chosen
    )
    estimate = round(float(sum(item.estimated_usd for item in selected)), 6)
    deferred = len(due) - len(selected)
    selection = CriteriaSelection(
        activity_cutoff=eligible_criteria.activity_cutoff,
        sets_eligible=len(states),
        sets_due=len(due),
        sets_deferred=deferred,
        selected=selected,
        estimated_usd=estimate,
    )
    update_run(
        engine,
        ingestion_run_id(context.run),
        sets_due=len(due),
        sets_selected=len(selected),
        sets_deferred=deferred,
        estimated_usd=estimate,
    )
    context.log.info(
        "Selected %d of %d due criteria sets (cap %d, budget %s USD); %d deferred to a later "
        "run. Estimated Apify cost at most %.4f USD",
        len(selected),
        len(due),
        refresh_policy.max_sets_per_run,
        refresh_policy.max_estimated_usd_per_run
        if refresh_policy.max_estimated_usd_per_run is not None
        else "no",
        deferred,
        estimate,
    )
    preview = pd.DataFrame(
        [
            (
                item.mapping_key,
                item.source,
                ", ".join(item.canonical.get("keywords", [])),
                item.canonical.get("location") or "",
                item.member_count,
                item.reason,
            )
            for item in selected[:PREVIEW_ROWS]
        ],
        columns=["set", "source", "keywords", "location", "members", "reason"],
    )
    return dg.Output(
        selection,
        metadata={
            "sets_eligible": dg.MetadataValue.int(len(states)),
            "sets_due": dg.MetadataValue.int(len(due)),
            "sets_selected": dg.MetadataValue.int(len(selected)),
            "sets_deferred": dg.MetadataValue.int(deferred),
            "sets_stuck": dg.MetadataValue.int(len(stuck)),
            "estimated_usd": dg.MetadataValue.float(estimate),
            "selected_preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
        },
    )
