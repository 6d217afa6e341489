"""Four realistic corpora, generated in code, for the "any corpus" tests and benchmarks.

Each generator writes a documents directory that looks like something a user would point the
platform at, plus a golden set written the way a person asks, and returns a ``Corpus`` whose
``settings()`` are the overrides that point the platform at it:

- ``markdown_handbook``: the engineering handbook of a fictional logistics company (Kestrel):
  YAML front matter, nested headings, GFM tables, fenced code, lists, links, emphasis; one page
  without front matter and a README without any heading.
- ``man_pages``: manual pages of a fictional object store (Strata: ``libstrata`` calls, the
  ``stratactl`` tools, ``stratad``) rendered to plain text as ``man 2 open | col -b`` prints them.
- ``html_site``: the documentation website of a fictional message queue service (Tidepool), every
  page wrapped in real boilerplate (navigation, site header, sidebar, cookie banner, footer,
  scripts and styles), content in ``<main>``, a lone ``<article>`` or a ``<div class="content">``.
- ``pdf_manual``: an appliance operator manual, its release notes and a quick start guide built
  with fpdf2 (outline, running headers, numbered lists), plus an encrypted contract and an
  image-only "scan" the platform must quarantine.

All text is composed here (nothing is downloaded) and output is byte-for-byte deterministic.
Golden answers are copied verbatim from one document's prose, so the opening of every answer is
found in the text a reader sees. Importable without pytest (benchmarks use it too).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.pdfs import Heading, NumberedList, Paragraph, build_pdf, encrypt_pdf, image_only_pdf


@dataclass(frozen=True)
class Corpus:
    """A generated corpus: where its documents are, its golden set, and the label settings that fit it."""

    name: str
    root: Path
    globs: list[str]
    golden_path: Path
    classes: list[str]
    descriptions: dict[str, str]
    keyword_functions: dict[str, list[str]]

    def settings(self) -> dict[str, Any]:
        """Overrides for ``load_settings``: this corpus as the only source, its golden file and its labels."""
        return {
            "sources": [{"name": self.name, "kind": "directory", "path": str(self.root), "globs": list(self.globs)}],
            "golden": {"kind": "files", "paths": [str(self.golden_path)]},
            "labels": {
                "reference": "none",
                "classes": list(self.classes),
                "descriptions": dict(self.descriptions),
                "keyword_functions": {k: list(v) for k, v in self.keyword_functions.items()},
            },
        }

    def documents(self) -> list[Path]:
        """The files the globs select, sorted (what the platform will ingest)."""
        found = {p for pattern in self.globs for p in self.root.glob(pattern) if p.is_file()}
        return sorted(found)

    def golden(self) -> list[dict[str, str]]:
        return [json.loads(line) for line in self.golden_path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Topic:
    """One user class: its name, the sentence the zero-shot labeler reads, and its keywords."""

    name: str
    description: str
    keywords: tuple[str, ...]


GOLDEN_FILE = "golden.jsonl"


def _write(root: Path, rel: str, content: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def _corpus(
    name: str, root: Path, globs: list[str], topics: Sequence[Topic], golden: Sequence[tuple[str, str, str]]
) -> Corpus:
    """Write the golden set (question, answer, source) next to the documents and describe the corpus."""
    lines = [json.dumps({"question": q, "answer": a, "source": s}, ensure_ascii=False) for q, a, s in golden]
    _write(root, GOLDEN_FILE, "\n".join(lines) + "\n")
    return Corpus(
        name=name,
        root=root,
        globs=globs,
        golden_path=root / GOLDEN_FILE,
        classes=[t.name for t in topics],
        descriptions={t.name: t.description for t in topics},
        keyword_functions={t.name: list(t.keywords) for t in topics},
    )


# =============================================================================================== Markdown handbook
# The engineering handbook of Kestrel Freight, a fictional logistics platform (dispatch API, route planner, ledger).

_HANDBOOK: dict[str, str] = {
    "README.md": """\
Kestrel Engineering Handbook

Welcome to the Kestrel engineering handbook. It is the single place where the platform, dispatch and billing teams write down how we build, ship and run the software behind Kestrel Freight, from the first day of a new engineer to the last step of a database restore. If a process is not written here, it is not a process yet; it is a habit, and habits do not survive a reorganisation.

The handbook is organised by the questions people ask at three in the morning. Start with [your first week](onboarding/first-week.md) if you are new, go to [the incident commander page](incidents/incident-commander.md) if something is on fire, and read [the release train](deploy/release-train.md) before you merge your first change to a service that customers touch.

Every page names an owner in its front matter. The owner is the team that answers questions about the page and reviews changes to it, not the person who wrote it first. Pages without an owner are reviewed by the platform team once a quarter and either adopted or deleted.

Small fixes such as typos, broken links and outdated command flags can be merged by anyone after one approval. Changes to policy, for example paging rules, severity definitions or access rules, need an approval from the owning team and a note in the engineering announcements channel.

A few rules keep the handbook useful:

- Write for the reader who is tired and in a hurry.
- Prefer commands that can be copied as they are.
- Link to the source of truth instead of copying numbers that change.
- Date nothing: the history of a page lives in git.

The internal docs site renders the handbook every ten minutes, so a merged change is visible to everyone shortly after it lands. If a page looks stale on the site, the build log of the docs site is the first place to look.
""",
    "onboarding/first-week.md": """\
---
title: Your first week
owner: people-engineering
tags: [onboarding, new-hire]
---

# Your first week

Your first week at Kestrel is about access, context and one small change in production. Nobody expects you to fix anything important. We do expect you to finish the week knowing where the code lives, how it gets deployed and who to ask when you are stuck.

## Day one

On day one your onboarding buddy meets you at the morning stand-up of your team. The buddy is an engineer from a neighbouring team who has volunteered to answer your questions for the first month, including the ones you feel you should already know the answer to. Your manager is there for career questions; your buddy is there for everything that starts with *where is* or *how do I*.

Before lunch, collect your laptop from the IT desk and run the enrollment script. The script installs the device management profile, turns on disk encryption and registers the laptop for single sign-on. You cannot reach any internal system from a laptop that is not enrolled.

## Checklist for the week

1. Finish the security awareness course in the learning portal.
2. Request the read-only production role (see [access requests](access-requests.md)).
3. Set up your [development environment](dev-environment.md) and run the dispatch-api test suite.
4. Shadow one on-call handover.
5. Ship a one-line change to production together with your buddy.

## Your first deploy

The first deploy is a ritual rather than a test. Pick a small, safe change, such as a log message, a typo in an error string or a missing unit test, and take it through the whole pipeline: review, merge, canary and full rollout. Your buddy watches the canary dashboard with you and explains what each graph means.

To find a starter task, filter the issue tracker by the label good-first-deploy. These issues are curated by the platform team and are deliberately boring, so that the interesting part is the pipeline and not the code.

## Meetings you will be invited to

| Meeting | Cadence | Purpose |
|---|---|---|
| Team stand-up | Daily | Plan the day and unblock each other |
| Incident review | Weekly | Read the postmortems of the past week |
| Architecture forum | Every second Thursday | Discuss design documents before they are built |
| Demo hour | Monthly | Show what shipped |
""",
    "onboarding/dev-environment.md": """\
---
title: Development environment
owner: platform
tags: [onboarding, tooling]
---

# Setting up your development environment

Kestrel services are developed in containers on your laptop and tested against a shared staging cluster. The toolchain is pinned in the repository, so two engineers who run the same commit get the same compiler, the same linters and the same database version.

## Prerequisites

- A laptop enrolled in device management, with disk encryption turned on
- Docker Desktop or Colima with at least 8 GB of memory
- The kestrel command-line tool, installed with Homebrew
- Membership of the engineering group in the identity provider

## Install the toolchain

To install the toolchain, clone the monorepo and run the bootstrap script from its root. The script reads `.tool-versions`, installs the pinned versions with asdf and writes a local configuration file that points the kestrel CLI at the staging cluster.

```shell
git clone https://git.kestrel.example/platform/monorepo.git
cd monorepo
./scripts/bootstrap.sh
kestrel doctor
```

The kestrel doctor command checks every prerequisite and prints what is missing. It is safe to run as often as you like, and it is the first thing anyone will ask you to run when your environment misbehaves.

## Running services locally

Each service has a compose file that starts it together with its dependencies: a Postgres container with seed data, a local message broker and a stub for every external API we call. Run `make dev` in the service directory to start it; the service reloads whenever you save a file.

Local databases are seeded from anonymised fixtures, **never** from production dumps. If you need a realistic volume of data for a performance test, ask the data platform team for a synthetic dataset instead of copying customer records to your laptop.

## Troubleshooting

When containers fail to start with an out-of-memory error, raise the memory limit of your container runtime to at least 8 GB. When the CLI reports an expired session, run `kestrel login` again, because sessions last twelve hours. Anything else goes to the platform help channel, with the output of kestrel doctor attached.
""",
    "onboarding/access-requests.md": """\
---
title: Access requests
owner: security
tags: [onboarding, access]
---

# Access requests

Access at Kestrel is granted to roles, not to people, and every role has an owner who approves requests for it. An access request is a ticket in the access portal that names the role, the reason and how long you need it.

## Standard roles

| Role | Grants | Approver | Maximum duration |
|---|---|---|---|
| eng-readonly | Production dashboards and logs, read only | Your manager | Permanent |
| db-readonly | Read queries on production replicas | Data platform lead | 90 days |
| deploy | Triggering deployments through the pipeline | Team lead | Permanent |
| break-glass | Full production access during an incident | Incident commander | 4 hours |

## Requesting a role

To request a role, open the access portal, pick the role from the catalogue and describe the task that needs it in one or two sentences. Requests that only say *for my work* are sent back. Most requests are approved within one business day; urgent requests during an incident go through the break-glass procedure instead.

## Break-glass access

Break-glass access is the emergency path to full production rights. It is granted by the incident commander for a single incident, expires automatically after four hours and is recorded in the audit log together with every command run in the session.

Using break-glass outside an incident is a security event even if nothing goes wrong. The security team reviews every session within two business days and asks the engineer to explain any command that touched customer data.

## When you change teams

Roles follow your team, not your history. When you move to another team, your previous manager revokes the roles that belonged to the old team within a week, and the [quarterly access review](../security/access-reviews.md) catches anything that was missed.
""",
    "onboarding/glossary.md": """\
---
title: Glossary
owner: platform
tags: [onboarding, reference]
---

# Glossary

This glossary explains the words Kestrel engineers use every day without noticing that nobody outside the company knows them. Terms are grouped by where you will meet them first.

## Platform terms

The dispatch API is the public HTTP service that carriers and shippers call to create, track and cancel shipments. It has the strictest latency objective of all our services, because every page of the customer app waits for it.

The route planner is a batch service that computes delivery routes every fifteen minutes from the open shipments, the truck positions and the traffic forecast. When it falls behind, drivers keep their previous routes until the next successful run.

The ledger is the Postgres database that stores invoices, payments and credits. It is the only database with thirty days of point-in-time recovery, because finance must be able to reconstruct any invoice we ever sent.

## Process terms

A release train is the scheduled, twice-daily deployment of every service that has merged changes since the previous train. See [the release train](../deploy/release-train.md) for the schedule.

A freeze is a period when only fixes for active incidents may be deployed, for example during the last week of a quarter or the peak shipping weeks before the holidays.

An error budget is the amount of unreliability a service may spend in a thirty-day window before feature work stops in favour of reliability work. The budget follows from the service level objective: a 99.9 percent objective leaves a budget of about 43 minutes of full outage a month.
""",
    "oncall/rotation.md": """\
---
title: On-call rotation
owner: sre
tags: [on-call, paging]
---

# On-call rotation

Every team that runs a production service takes part in an on-call rotation. The rotation is weekly and changes hands on Tuesday at 10:00 local time. It has two layers: a primary who is paged first, and a secondary who is paged when the primary does not acknowledge within ten minutes.

## Who is on call

Engineers join the rotation after their third month, once they have shadowed two full weeks. Shadowing means receiving every page as a notification without being expected to respond, and joining the handover call at the start and at the end of the week.

## Compensation and time off

On-call is paid as a flat weekly allowance plus an hourly rate for every page answered outside working hours. An engineer who is paged after midnight starts the next working day at noon. Nobody needs to ask for this; it is the rule.

## Swapping shifts

To swap a shift, agree on the swap with a colleague and update the schedule in the paging tool yourself. Swaps do not need a manager's approval, but both engineers must already be in the paging tool's schedule before the swap takes effect, or pages keep going to the person who was originally on call.

## Expectations

- Acknowledge a page within five minutes.
- Keep your laptop and a charged phone within reach.
- Stay within thirty minutes of a reliable internet connection.
- Hand over open issues in writing at the end of the shift.
""",
    "oncall/paging-policy.md": """\
---
title: Paging policy
owner: sre
tags: [on-call, alerting]
---

# Paging policy

A page is an interruption of a person, so it has to be worth one. The paging policy decides which alerts may wake someone up at night and which ones wait for working hours.

## What may page

An alert may page only when customers are affected now or will be within the hour, and when a human can do something about it. Disk usage at 70 percent is not a page; disk usage that will reach 100 percent in forty minutes is.

## Urgency levels

| Urgency | Delivery | Response expected |
|---|---|---|
| High | Phone call and push notification, any time | Acknowledge within 5 minutes |
| Low | Push notification during working hours only | Look at it the same day |
| Ticket | A ticket in the team's queue | Triage at the weekly planning |

## Reviewing pages

Every Monday the outgoing on-call engineer reviews the pages of the previous week with the team. Each page is marked as *actionable*, *noisy* or *wrong*. A page marked noisy twice in a month is downgraded to low urgency or deleted; the owner of the alert decides which, but doing nothing is not an option.

Paging volume is tracked per team. A team that receives more than two pages a night on average for a month stops feature work until the number comes down, just as an exhausted error budget would require.
""",
    "oncall/handover.md": """\
# On-call handover

The handover is a fifteen-minute call at every change of shift. The outgoing engineer summarises what happened during the week, the incoming engineer asks questions, and both agree on what is still open. Nobody hangs up until the incoming engineer says they are comfortable taking the pager.

## The handover note

The handover note is a short document in the on-call channel that lists open incidents, alerts that fired but were silenced, risky deploys planned for the coming week and anything the next engineer should keep an eye on. Write it before the call, not during it.

```yaml
handover:
  open_incidents: [INC-2291]
  silenced_alerts:
    - name: ledger-replica-lag
      until: friday
      reason: replica rebuild in progress
  watch:
    - route-planner memory after the Tuesday release
```

## Things that get lost

Silences are the most common thing to fall through the cracks. An alert silenced for a week by the previous on-call engineer will not page the next one, so every silence in the note must say why it exists and when it ends.

Half-finished manual work is the second. If you scaled a deployment by hand or paused a cron job, write down the command you ran and the command that reverts it, so your successor can undo it without guessing.

### Checklist before you hang up

- Every open incident has a named owner.
- Every silence has an end date.
- The incoming engineer has received a test page.
""",
    "incidents/severity-levels.md": """\
---
title: Incident severity levels
owner: sre
tags: [incident-response]
---

# Incident severity levels

Severity describes the impact of an incident on customers, not how hard it is to fix. The incident commander sets it in the first fifteen minutes and raises or lowers it as the picture becomes clearer.

## Definitions

| Severity | Customer impact | Example | Response |
|---|---|---|---|
| SEV1 | Most customers cannot ship or track parcels | The dispatch API fails every request | All hands, status page within 15 minutes |
| SEV2 | A major feature is broken or slow for many customers | Label printing fails in one region | Incident commander and the owning team |
| SEV3 | A minor feature is degraded and a workaround exists | Invoice PDFs are delayed by an hour | The owning team during working hours |
| SEV4 | No customer impact yet | A replica is out of sync | A ticket |

## Choosing a severity

When in doubt, pick the higher severity. Downgrading an incident later costs a few messages; upgrading it late means customers heard about the problem from someone other than us.

Severity is about the worst current impact, not the potential impact. A database at risk of running out of disk is a SEV4 until the disk is full, although the incident commander may decide to treat it with SEV2 urgency.

## Severity and communication

Every SEV1 and SEV2 incident gets a public [status page](status-page.md) entry, an internal announcement in the incidents channel and a postmortem. SEV3 incidents get a postmortem only when the owning team thinks there is something to learn from them.
""",
    "incidents/incident-commander.md": """\
---
title: The incident commander
owner: sre
tags: [incident-response, roles]
---

# The incident commander

The incident commander is the person who coordinates the response to an incident. The commander does not debug. They decide who does what, keep the timeline, make the calls nobody else wants to make and decide when the incident is over.

## Declaring an incident

To declare an incident, type `/incident declare` in any channel and answer the three questions the bot asks: what is broken, who is affected and which severity you think it is. The person who declares the incident is its commander until they hand command to someone else, out loud, in the incident channel.

## Roles in a large incident

- **Incident commander**: coordinates and decides.
- **Operations lead**: runs the technical investigation and is the only person who changes production.
- **Communications lead**: writes status page updates and answers the support team.
- **Scribe**: keeps the timeline of decisions and actions.

## Running the call

Keep the call focused on the next action. Every ten minutes the commander summarises the state in one sentence, names the current hypothesis and asks whether anyone has information that contradicts it. Side discussions move to a thread so the call stays quiet enough to hear the people doing the work.

Avoid changing two things at once. When several fixes are proposed, the commander picks one, sets a time at which to judge whether it worked and keeps the other proposals in a list.

## Ending an incident

An incident ends when customer impact has stopped and the system is stable enough that the on-call engineer could handle a relapse alone. Before closing the channel, the commander posts the end time, the final severity and the name of the postmortem owner.
""",
    "incidents/postmortems.md": """\
---
title: Writing postmortems
owner: sre
tags: [incident-response, postmortem]
---

# Writing postmortems

A postmortem is a written account of an incident: what happened, why it happened, how we responded and what we will change. It is *blameless*, which means it describes decisions in the light of what people knew at the time instead of judging them with hindsight.

## Deadlines

The draft postmortem is due five working days after the incident ends. The incident commander names the owner when the incident is closed; the owner is usually an engineer from the team whose system failed rather than the commander.

## Structure

1. Summary: two or three sentences a customer could understand.
2. Timeline: detection, key decisions and recovery, in UTC.
3. Contributing factors.
4. What went well.
5. Action items, each with an owner and a due date.

## Contributing factors, not root causes

We write contributing factors instead of a single root cause, because real incidents rarely have just one. A deploy that removed an index, a missing alert on query latency and a runbook that pointed to a dashboard that no longer exists are three factors of one outage, and each deserves an action item.

## Action items

Action items are tracked on the reliability board and reviewed at the weekly incident review. An action item without an owner or a due date is not accepted.

Items that are still open after ninety days are either planned again with a reason or closed as won't-fix by the team lead, so the board reflects what we actually intend to do.
""",
    "incidents/status-page.md": """\
---
title: Status page updates
owner: support
tags: [incident-response, communication]
---

# Status page updates

The status page is how customers learn about incidents that affect them. Updating it is the job of the communications lead, or of the incident commander when the incident is small enough not to need one.

## When to post

Post a first update within fifteen minutes of declaring a SEV1 or SEV2 incident, even if all you can say is that we are investigating. Post again at least every thirty minutes while the incident is open, and whenever the impact changes.

## How to write an update

Write for a shipping manager, not for an engineer. Say which feature is affected, what customers will see and what they can do in the meantime; leave out internal service names, hostnames and guesses about the cause.

> Good: Some customers cannot print shipping labels in the EU region. Shipments created in the app are not affected. We are working on a fix and will update this page by 14:30 UTC.

> Bad: route-planner pods OOMKilled after bad deploy, rolling back.

## Templates

Templates for the common cases are stored in the status page tool under the names *investigating*, *identified*, *monitoring* and *resolved*. Start from a template and then edit it, because an unedited template tells customers nothing they did not already know.

```text
[Identified] Label printing delays in {region}
We have identified the cause of delayed shipping labels in {region} and are deploying a fix.
Labels requested since {start_time} will be generated automatically once the fix is live.
```
""",
    "deploy/release-train.md": """\
---
title: The release train
owner: platform
tags: [deployment, release]
---

# The release train

The release train is the scheduled deployment that takes every merged change to production twice a day, at 10:00 and 15:00 Berlin time. Changes merged to main before the cut-off ride the next train. There is no need to book a slot or ask anyone.

## How a train runs

1. At the cut-off, the pipeline builds an image for every service with new commits.
2. Integration tests run against the staging cluster.
3. Each service is deployed to its canary.
4. [Canary analysis](canary-analysis.md) compares the canary with the baseline for twenty minutes.
5. The rollout continues in three waves of 10, 50 and 100 percent of the pods.

## Skipping the train

To ship a fix outside the train, run shipit hotfix with the merge request number. A hotfix skips the waiting but not the checks: it goes through the same canary analysis, with a shorter observation window of ten minutes.

```shell
shipit hotfix --mr 4821 --service dispatch-api
shipit status dispatch-api
```

## Freezes

During a freeze the train still runs, but it only picks up changes labelled `incident-fix`. Freezes are announced a week ahead in the engineering announcements channel and appear in the shipit calendar, so nobody learns about one from a rejected merge.
""",
    "deploy/canary-analysis.md": """\
---
title: Canary analysis
owner: platform
tags: [deployment, canary]
---

# Canary analysis

Canary analysis decides automatically whether a new version is safe to roll out. The pipeline deploys the new version to a small canary group, keeps a baseline group on the old version with the same share of traffic, and compares the two with statistical tests over a fixed window.

## Metrics compared

| Metric | Threshold | Why it matters |
|---|---|---|
| Error rate | At most 0.5 percentage points higher | Users see failures directly |
| p99 latency | At most 15 percent higher | Slow requests time out at the edge |
| CPU per request | At most 25 percent higher | It predicts capacity problems |
| Crash loops | Zero | A restarting pod hides its errors |

## Reading the verdict

The verdict is one of *pass*, *fail* or *inconclusive*. A pass continues the rollout, a fail rolls the canary back and notifies the author of the change, and an inconclusive verdict pauses the rollout and asks a human to look at the graphs.

Inconclusive verdicts usually mean there was too little traffic to compare, which is common for internal services at night. Do not override an inconclusive verdict just because it is late; extend the window with `shipit canary extend` and let more traffic arrive.

## Custom metrics

A service can add its own metrics to the analysis in its deploy.yaml file. Choose metrics that move when the service is broken and stay flat otherwise: queue depth and business events such as labels printed per minute work better than generic memory graphs.

```yaml
canary:
  window: 20m
  extra_metrics:
    - name: labels_printed_per_minute
      direction: decrease
      tolerance: 10%
```
""",
    "deploy/rollbacks.md": """\
---
title: Rolling back a deployment
owner: platform
tags: [deployment, rollback]
---

# Rolling back a deployment

A rollback returns a service to the last version that passed canary analysis. It is the fastest way to end an incident caused by a deploy, and it is always allowed: you never need permission to roll back your own service.

## How to roll back

To roll back a service, run shipit rollback with the service name. The command finds the previous good release, deploys it to all pods at once without a canary, and marks the bad release so that the next train does not pick it up again.

```shell
shipit rollback dispatch-api
shipit rollback dispatch-api --to 2024.06.11-2
```

## When a rollback is not enough

Rollbacks undo code, not data. If the bad release ran a database migration, wrote records in a new format or sent messages to other services, rolling back the code can make things worse, because the old version may not understand what the new one wrote.

For this reason every migration must stay compatible with the previous release; see [schema migrations](../databases/migrations.md). If you are unsure whether a rollback is safe, ask the incident commander to page the owning team before you run it.

## After the rollback

Leave the failed release in the registry and link it from the incident. The author fixes forward in a new merge request, which rides the next train like any other change.
""",
    "deploy/feature-flags.md": """\
---
title: Feature flags
owner: platform
tags: [deployment, feature-flags]
---

# Feature flags

A feature flag is a switch that turns a code path on or off at runtime, without a deploy. Flags let us merge unfinished work, release a feature to a few customers first and switch off a misbehaving feature in seconds.

## Kinds of flags

- Release flags hide unfinished features and are deleted once the feature has fully launched.
- Experiment flags split traffic between variants and are owned by the product team.
- Operational flags are kill switches for expensive or risky code paths and may live forever.

## Creating a flag

To create a flag, add it to flags.yaml in the service repository with an owner and an expiry date, then merge the change. The flag service reads the file at deploy time; a flag that is not declared there cannot be evaluated and always returns its default value.

```yaml
flags:
  new-label-renderer:
    kind: release
    owner: dispatch
    expires: 2024-09-30
    default: false
```

## Cleaning up

Release flags cost something every day they exist, because each one doubles the number of code paths to test. The flag service opens a ticket for the owner when a release flag passes its expiry date, and the weekly platform report lists the teams with the most expired flags.
""",
    "databases/postgres-primer.md": """\
---
title: Postgres at Kestrel
owner: data-platform
tags: [databases, postgres]
---

# Postgres at Kestrel

Every stateful Kestrel service stores its data in PostgreSQL. The data platform team runs the clusters, while product teams own their schemas, their queries and the migrations that change them.

## Cluster layout

Each production cluster has one primary and two streaming replicas in different availability zones. Writes go to the primary through the connection pooler; read-only queries from reporting jobs go to the replicas, which may lag behind the primary by a few seconds.

## Naming conventions

| Object | Convention | Example |
|---|---|---|
| Database | Service name in snake case | dispatch_api |
| Table | Plural noun | shipments |
| Index | Table, columns and the suffix idx | shipments_carrier_id_idx |
| Role | Service name and access level | dispatch_api_rw |

## Query guidelines

Every query that runs on a request path must use an index. Before you merge a new query, run it with EXPLAIN ANALYZE on staging against realistic data and paste the plan into the merge request, where reviewers look for sequential scans on large tables.

Long transactions are the most common cause of trouble. A transaction that stays open for minutes holds back vacuum, bloats tables and blocks migrations, so application code must never keep a transaction open while it calls another service.
""",
    "databases/migrations.md": """\
---
title: Schema migrations
owner: data-platform
tags: [databases, migrations, deployment]
---

# Schema migrations

A schema migration is a versioned SQL script that changes the structure of a database. Migrations live next to the service code, run automatically before the new version of the service starts and are never edited after they have been applied in production.

## The expand and contract pattern

To rename a column without downtime, use the expand and contract pattern. First add the new column and write to both columns, then backfill the old rows, then switch reads to the new column, and only in a later release drop the old one. Each step is a separate release, so any single release can be rolled back.

## Locks to avoid

- Adding a column with a volatile default rewrites the whole table and blocks writes.
- Creating an index without `CONCURRENTLY` blocks writes for as long as the build runs.
- Adding a foreign key checks every row while holding a lock; add it as `NOT VALID` and validate it later.
- Changing the type of a column usually rewrites the table.

## Lock timeouts

Every migration runs with a lock timeout of five seconds. If the migration cannot get its lock in that time it fails, instead of queueing behind a long transaction and blocking every query that arrives after it. A failed migration fails the deploy, which is exactly what we want.

```sql
SET lock_timeout = '5s';
ALTER TABLE shipments ADD COLUMN carrier_reference text;
```
""",
    "databases/backups-and-restore.md": """\
---
title: Backups and restores
owner: data-platform
tags: [databases, backups, disaster-recovery]
---

# Backups and restores

Backups are only as good as the last restore that worked. The data platform team backs up every production database automatically and restores one of them every week to prove that the backups can actually be used.

## What is backed up

| Database | Method | Retention | Point-in-time recovery |
|---|---|---|---|
| ledger | Daily base backup and WAL archiving | 30 days | Yes |
| dispatch_api | Daily base backup and WAL archiving | 14 days | Yes |
| route_planner | Nightly logical dump | 7 days | No |

## Restoring to a point in time

To restore a database to a point in time, open a ticket with the data platform team that names the database, the target time in UTC and the reason. The restore always goes to a new cluster. Nobody overwrites a production database in place, because the data you are about to lose may be the evidence you need.

A restore of the ledger takes about forty minutes for the base backup, plus a few minutes for every hour of WAL to replay. Plan the incident around that number rather than around hope.

## Weekly restore test

Every Wednesday a scheduled job restores the latest backup of one database, chosen in rotation, to a scratch cluster and runs the consistency checks of its service against it. A failed restore test pages the data platform on-call engineer at low urgency.
""",
    "databases/credential-rotation.md": """\
---
title: Rotating database credentials
owner: security
tags: [databases, security, secrets]
---

# Rotating database credentials

Database passwords are rotated every ninety days, and immediately when someone who knew them leaves or when they may have been exposed. Services never keep a password in their configuration; they read short-lived credentials from the secrets manager when they start.

## How rotation works

Each service role has two login users, a blue one and a green one, and only one of them is active at a time. Rotation sets a new password on the inactive user, publishes it to the secrets manager, restarts the service so that it picks up the new user, and finally disables the old one.

## Rotating by hand

To rotate the database credentials of a service by hand, run kestrel db rotate with the service name and watch the output until the old user is disabled. The command is idempotent, so running it again after a failure continues where it stopped.

```shell
kestrel db rotate --service dispatch-api --env production --dry-run
kestrel db rotate --service dispatch-api --env production
```

## After a suspected leak

If a password may have leaked, rotate first and investigate second. Then ask the security team to search the database audit log for logins of the old user from unexpected places during the exposure window.
""",
    "databases/connection-pooling.md": """\
---
title: Connection pooling
owner: data-platform
tags: [databases, performance]
---

# Connection pooling

PgBouncer is the connection pooler that sits between every service and its Postgres primary. It lets hundreds of application processes share a few dozen server connections, which matters because every Postgres connection costs memory and a whole process on the database host.

## Pool modes

Kestrel runs PgBouncer in transaction mode. A server connection is assigned to a client for one transaction and goes back to the pool at commit, so session state such as prepared statements, advisory locks and SET commands does not survive from one transaction to the next.

## Sizing the pool

The default pool size is twenty server connections per service and database. Raise it only after checking the wait time of the pool on the database dashboard: if clients rarely wait, a bigger pool just moves the queue into Postgres, where it is more expensive.

## Symptoms of an exhausted pool

- Requests time out while the CPU of the database is low.
- The `cl_waiting` metric of the pool stays above zero for minutes.
- Application logs show `query_wait_timeout` errors.

When you see these symptoms, look for a slow query or a long transaction before you touch the pool size. An exhausted pool is almost always the messenger, not the culprit.
""",
    "security/secrets-management.md": """\
---
title: Secrets management
owner: security
tags: [security, secrets]
---

# Secrets management

A secret is any value that grants access to something: a password, an API token, a private key or a signing certificate. Secrets live in the secrets manager and nowhere else, which means not in the repository, not on a wiki page and not in a chat message.

## Reading secrets from a service

Services read their secrets at start-up through the platform sidecar, which authenticates with the workload identity of the service and writes the values to an in-memory volume. Application code reads them as files. It never calls the secrets manager directly and never logs what it read.

## Adding a new secret

To add a new secret, create it in the secrets manager under the path of your service and environment, then reference that path in the deploy.yaml of the service. The pipeline refuses to deploy a service that references a secret which does not exist, so a typo fails the build instead of the pod.

```yaml
secrets:
  - name: carrier-api-token
    path: kv/dispatch-api/production/carrier-api-token
    mount: /run/secrets/carrier-api-token
```

## Secret scanning

Every push to the monorepo is scanned for strings that look like credentials. A finding blocks the merge request. If the secret has already reached the main branch, treat it as leaked: revoke it, rotate it and only then rewrite the history if you must.
""",
    "security/vulnerability-response.md": """\
---
title: Vulnerability response
owner: security
tags: [security, vulnerabilities]
---

# Vulnerability response

The vulnerability response process decides how fast we fix a security weakness once we know about it. Its input is a finding from a dependency scanner, a penetration test, a bug bounty report or an engineer who noticed something odd.

## Fix deadlines

| Severity | CVSS score | Fix deadline |
|---|---|---|
| Critical | 9.0 to 10.0 | 48 hours |
| High | 7.0 to 8.9 | 14 days |
| Medium | 4.0 to 6.9 | 60 days |
| Low | below 4.0 | The next planned upgrade |

## Triage

The security engineer on duty triages new findings every morning. Triage decides whether the vulnerable code is reachable in our deployment, adjusts the severity if it is not, and files a ticket for the owning team with the deadline from the table above.

A critical vulnerability that can be exploited from the internet is handled as a SEV2 incident, with an incident commander and a status page entry if customers need to act.

## Dependency upgrades

Most findings are fixed by upgrading a dependency. The dependency bot opens upgrade merge requests every Monday, and teams that merge them weekly rarely see critical findings, because they are never more than a few versions behind.
""",
    "security/access-reviews.md": """\
---
title: Quarterly access reviews
owner: security
tags: [security, compliance, access]
---

# Quarterly access reviews

An access review is a check, once a quarter, that everyone who holds a production role still needs it. Our SOC 2 controls require the reviews, but their real purpose is to shrink the number of people who can hurt production by accident.

## How the review works

1. The security team exports every role assignment from the identity provider.
2. Each role owner receives the list of people who hold their roles.
3. The owner confirms or revokes every assignment within ten working days.
4. Assignments that nobody confirmed are revoked automatically on the eleventh day.

## Service accounts

Service accounts are reviewed like people. Every service account must have a human owner, a description of what uses it and the date it last authenticated. An account that has not authenticated for sixty days is disabled during the review.

## Evidence

The review produces the evidence our auditors ask for: the exported lists, the decisions of each owner and the tickets for revoked access. Store nothing by hand, because the review tool archives the evidence when an owner submits their decisions.
""",
    "observability/metrics-and-dashboards.md": """\
---
title: Metrics and dashboards
owner: sre
tags: [observability, metrics]
---

# Metrics and dashboards

Every Kestrel service exports Prometheus metrics on its admin port, and the platform scrapes them every fifteen seconds. Dashboards are built in Grafana from those metrics and stored as code in the service repository, so a dashboard change is reviewed like any other change.

## The four golden signals

Each service dashboard starts with a row for the four golden signals: request rate, error rate, latency and saturation. An engineer on call should be able to tell from that first row alone whether the service is healthy.

## Service level objectives

A service level objective, or SLO, is a target for the share of good events over thirty days, for example 99.9 percent of dispatch API requests answered successfully within 300 milliseconds. The SLO dashboard shows how much error budget remains and how fast it is burning.

## Naming metrics

| Part | Rule | Example |
|---|---|---|
| Prefix | The service name | dispatch_api_ |
| Unit | A base unit as the suffix | _seconds, _bytes |
| Counters | End in _total | dispatch_api_requests_total |
| Labels | Low cardinality only | route, status_code |

A label whose values are unbounded, such as a shipment or customer identifier, creates a new time series for every value and can take the metrics backend down. Put such values in logs or traces instead.
""",
    "observability/logging.md": """\
---
title: Logging
owner: sre
tags: [observability, logs]
---

# Logging

Services write their logs as JSON lines to standard output, and the node agent ships them to the log store, where they are kept for fourteen days. Structured logs let us filter by request, customer or shipment without regular expressions.

## Required fields

- `timestamp`, in RFC 3339 format
- `level`
- `service`
- `trace_id`
- `message`

## Log levels

Use error for failures that need a human, warning for failures the service recovered from, info for business events worth counting and debug for everything else. Debug logs are dropped in production unless the log level of the service is raised at runtime through its admin port.

## What never to log

Never log secrets, access tokens, full payment details or the contents of shipping labels, which contain names and addresses. The log pipeline masks the fields it recognises, but it cannot recognise a token that you put inside a free-text message.

## Searching logs

To find every log line of one request, search by its trace identifier. The edge proxy sets the trace_id field and every service passes it along, so a single query shows the path of a request across dispatch, routing and billing.
""",
    "observability/alert-design.md": """\
---
title: Designing alerts
owner: sre
tags: [observability, alerting, on-call]
---

# Designing alerts

An alert is a question the system asks a person. A good alert names a symptom that customers feel, links to a runbook, and fires early enough to act but late enough to be sure.

## Alert on symptoms, not causes

Alert on what customers experience, such as failed requests or late deliveries, rather than on causes like high CPU or a restarted pod. Causes belong on dashboards, where they help the person who is already investigating.

## Burn-rate alerts

Burn-rate alerts page when a service spends its error budget too quickly. A burn rate of one uses exactly the monthly budget in thirty days; we page at a burn rate of fourteen over one hour and open a ticket at a burn rate of two over six hours.

```yaml
- alert: DispatchApiErrorBudgetBurn
  expr: slo:error_ratio:rate1h{service="dispatch-api"} > 14 * 0.001
  for: 5m
  labels:
    urgency: high
  annotations:
    runbook: https://handbook.kestrel.example/runbooks/dispatch-api
```

## Runbooks

Every paging alert must link to a runbook that tells a tired engineer what to check first. A runbook starts with the impact of the alert, then lists the dashboards to open and the commands that are safe to run without asking anyone.
""",
    "observability/tracing.md": """\
---
title: Distributed tracing
owner: sre
tags: [observability, tracing]
---

# Distributed tracing

Distributed tracing records the path of a single request through every service it touches. Each service adds spans for its own work, and the tracing backend stitches them together by trace identifier into a waterfall view.

## Instrumenting a service

To instrument a service, add the OpenTelemetry SDK through the service template of the platform and set the service name in deploy.yaml. Incoming HTTP requests, outgoing calls and database queries are traced automatically; add manual spans only around work that takes noticeable time.

## Sampling

We keep every trace that contains an error and a one percent sample of the rest. Head-based sampling at the edge decides for ordinary requests, and the collector keeps error traces regardless, so the traces you need during an incident are there.

## Reading a trace

Look for the longest span first, then for gaps between spans. A gap usually means time spent waiting for something that is not instrumented, such as a lock, a connection from an exhausted pool or a garbage collection pause.
""",
}

_HANDBOOK_TOPICS = (
    Topic(
        "Deployment",
        "Shipping code to production: the release train, canary analysis, hotfixes, rollbacks and feature flags.",
        ("deploy", "deployment", "rollout", "canary", "rollback", "release train", "hotfix", "shipit"),
    ),
    Topic(
        "Incident response",
        "Handling outages: severity levels, the incident commander, status page updates and postmortems.",
        ("incident", "incidents", "postmortem", "severity", "incident commander", "status page", "outage"),
    ),
    Topic(
        "Security",
        "Protecting systems and data: secrets, credentials, vulnerabilities and access reviews.",
        ("security", "secret", "secrets", "vulnerability", "credentials", "access review", "leaked", "audit log"),
    ),
    Topic(
        "Databases",
        "Running PostgreSQL: schemas, queries, migrations, connection pooling, backups and restores.",
        ("Postgres", "PostgreSQL", "database", "migration", "replica", "replicas", "backup", "PgBouncer"),
    ),
    Topic(
        "Onboarding",
        "Getting new engineers productive: the first week, the buddy, laptops, tooling and access requests.",
        ("onboarding", "buddy", "first week", "laptop", "access request", "new engineer", "starter task"),
    ),
    Topic(
        "Observability",
        "Seeing what production does: metrics, dashboards, logs, traces, alerts and service level objectives.",
        ("metrics", "dashboard", "dashboards", "alert", "logs", "trace", "SLO", "Prometheus"),
    ),
)

_HANDBOOK_GOLDEN: tuple[tuple[str, str, str], ...] = (
    (
        "Who is allowed to merge small fixes to the engineering handbook?",
        "Small fixes such as typos, broken links and outdated command flags can be merged by anyone after one approval.",
        "README.md",
    ),
    (
        "What does my onboarding buddy do?",
        "The buddy is an engineer from a neighbouring team who has volunteered to answer your questions for the first month, "
        "including the ones you feel you should already know the answer to.",
        "onboarding/first-week.md",
    ),
    (
        "How do I find a good starter task for my first deploy?",
        "To find a starter task, filter the issue tracker by the label good-first-deploy.",
        "onboarding/first-week.md",
    ),
    (
        "What does the kestrel doctor command check?",
        "The kestrel doctor command checks every prerequisite and prints what is missing.",
        "onboarding/dev-environment.md",
    ),
    (
        "How long does break-glass access last?",
        "It is granted by the incident commander for a single incident, expires automatically after four hours and is "
        "recorded in the audit log together with every command run in the session.",
        "onboarding/access-requests.md",
    ),
    (
        "What is the ledger database used for?",
        "The ledger is the Postgres database that stores invoices, payments and credits.",
        "onboarding/glossary.md",
    ),
    (
        "When do new engineers join the on-call rotation?",
        "Engineers join the rotation after their third month, once they have shadowed two full weeks.",
        "oncall/rotation.md",
    ),
    (
        "How do I swap an on-call shift with a colleague?",
        "To swap a shift, agree on the swap with a colleague and update the schedule in the paging tool yourself.",
        "oncall/rotation.md",
    ),
    (
        "Which alerts are allowed to page someone?",
        "An alert may page only when customers are affected now or will be within the hour, and when a human can do "
        "something about it.",
        "oncall/paging-policy.md",
    ),
    (
        "What goes into the on-call handover note?",
        "The handover note is a short document in the on-call channel that lists open incidents, alerts that fired but "
        "were silenced, risky deploys planned for the coming week and anything the next engineer should keep an eye on.",
        "oncall/handover.md",
    ),
    (
        "Should I pick a higher or lower severity when I am not sure?",
        "When in doubt, pick the higher severity.",
        "incidents/severity-levels.md",
    ),
    (
        "How do I declare an incident?",
        "To declare an incident, type /incident declare in any channel and answer the three questions the bot asks: what "
        "is broken, who is affected and which severity you think it is.",
        "incidents/incident-commander.md",
    ),
    (
        "When is a postmortem draft due?",
        "The draft postmortem is due five working days after the incident ends.",
        "incidents/postmortems.md",
    ),
    (
        "How often should the status page be updated during an incident?",
        "Post again at least every thirty minutes while the incident is open, and whenever the impact changes.",
        "incidents/status-page.md",
    ),
    (
        "How do I ship a fix without waiting for the release train?",
        "To ship a fix outside the train, run shipit hotfix with the merge request number.",
        "deploy/release-train.md",
    ),
    (
        "What happens when canary analysis returns an inconclusive verdict?",
        "Inconclusive verdicts usually mean there was too little traffic to compare, which is common for internal services "
        "at night.",
        "deploy/canary-analysis.md",
    ),
    (
        "How do I roll back a service to the previous release?",
        "To roll back a service, run shipit rollback with the service name.",
        "deploy/rollbacks.md",
    ),
    (
        "How do I create a new feature flag?",
        "To create a flag, add it to flags.yaml in the service repository with an owner and an expiry date, then merge "
        "the change.",
        "deploy/feature-flags.md",
    ),
    (
        "How do I rename a database column without downtime?",
        "To rename a column without downtime, use the expand and contract pattern.",
        "databases/migrations.md",
    ),
    (
        "How long does it take to restore the ledger from a backup?",
        "A restore of the ledger takes about forty minutes for the base backup, plus a few minutes for every hour of WAL "
        "to replay.",
        "databases/backups-and-restore.md",
    ),
    (
        "How do I rotate the database credentials of a service?",
        "To rotate the database credentials of a service by hand, run kestrel db rotate with the service name and watch "
        "the output until the old user is disabled.",
        "databases/credential-rotation.md",
    ),
    (
        "What pool mode does PgBouncer run in?",
        "Kestrel runs PgBouncer in transaction mode.",
        "databases/connection-pooling.md",
    ),
    (
        "What should I do if a secret was pushed to the main branch?",
        "If the secret has already reached the main branch, treat it as leaked: revoke it, rotate it and only then "
        "rewrite the history if you must.",
        "security/secrets-management.md",
    ),
    (
        "When are burn-rate alerts sent?",
        "Burn-rate alerts page when a service spends its error budget too quickly.",
        "observability/alert-design.md",
    ),
    (
        "Which traces are kept by sampling?",
        "We keep every trace that contains an error and a one percent sample of the rest.",
        "observability/tracing.md",
    ),
)


def markdown_handbook(root: Path) -> Corpus:
    """An engineering handbook in Markdown (28 pages); golden answers are sentences of its prose."""
    for rel, text in _HANDBOOK.items():
        _write(root, rel, text)
    return _corpus("markdown-handbook", root, ["**/*.md"], _HANDBOOK_TOPICS, _HANDBOOK_GOLDEN)


# =============================================================================================== man pages
# Strata, a fictional replicated object store: libstrata calls (man2), tools (man1, man8), files (man5), overview (man7).


@dataclass(frozen=True)
class _Tag:
    """A tagged paragraph: an option or error name on its own line over its indented explanation."""

    tag: str
    text: str


@dataclass(frozen=True)
class _Sub:
    """A sub-heading (man ``.SS``), indented three spaces."""

    title: str


@dataclass(frozen=True)
class _Code:
    """Literal lines (an example), indented four more than the prose."""

    text: str


_ManItem = str | _Tag | _Sub | _Code


@dataclass(frozen=True)
class _ManPage:
    name: str
    section: int
    names: str
    purpose: str
    synopsis: str
    sections: tuple[tuple[str, tuple[_ManItem, ...]], ...]
    see_also: str

    @property
    def path(self) -> str:
        return f"man{self.section}/{self.name}.{self.section}.txt"


_MAN_WIDTH = 78
_MANUALS = {
    1: "Strata User Commands",
    2: "Strata Programmer's Manual",
    5: "Strata File Formats Manual",
    7: "Strata Overview",
    8: "Strata Administration Manual",
}


def _fill(text: str, indent: int) -> str:
    pad = " " * indent
    # No breaks at hyphens: a line ending in "-" reads as a word hyphenated across lines.
    return textwrap.fill(
        text, _MAN_WIDTH, initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False, break_long_words=False
    )


def _spread(left: str, middle: str, right: str) -> str:
    """A running header or footer: three fields spread over the page width, as man prints them."""
    gap = _MAN_WIDTH - len(left) - len(middle) - len(right)
    return left + " " * (gap // 2) + middle + " " * (gap - gap // 2) + right


def _man_section(heading: str, items: Sequence[_ManItem]) -> str:
    paragraphs: list[str] = []
    attach = False  # a sub-heading sits directly on its first paragraph
    for item in items:
        if isinstance(item, _Sub):
            paragraphs.append("   " + item.title)
            attach = True
            continue
        if isinstance(item, _Tag):
            text = " " * 7 + item.tag + "\n" + _fill(item.text, 14)
        elif isinstance(item, _Code):
            text = textwrap.indent(textwrap.dedent(item.text).strip("\n"), " " * 11)
        else:
            text = _fill(item, 7)
        if attach:
            paragraphs[-1] += "\n" + text
            attach = False
        else:
            paragraphs.append(text)
    return heading + "\n" + "\n\n".join(paragraphs)


def _man_text(page: _ManPage) -> str:
    ref = f"{page.name.upper()}({page.section})"
    parts = [
        _spread(ref, _MANUALS[page.section], ref),
        _man_section("NAME", [f"{page.names} - {page.purpose}"]),
        "SYNOPSIS\n" + textwrap.indent(textwrap.dedent(page.synopsis).strip("\n"), " " * 7),
        *(_man_section(heading, items) for heading, items in page.sections),
        _man_section("SEE ALSO", [page.see_also]),
        _spread("Strata 3.4", "March 2024", ref),
    ]
    return "\n\n".join(parts) + "\n"


_INCLUDE = "#include <strata/strata.h>\n\n"

_MAN_PAGES: tuple[_ManPage, ...] = (
    _ManPage(
        "strata_connect",
        2,
        "strata_connect, strata_disconnect",
        "attach to a storage pool",
        _INCLUDE
        + """\
strata_pool_t *strata_connect(const char *pool, const char *socket_path,
                              int flags);
int strata_disconnect(strata_pool_t *pool);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_connect() attaches the calling process to the storage pool named pool and returns a pool "
                    "handle that every other call of the library takes as its first argument. The connection is made "
                    "over the Unix domain socket of the local stratad daemon; when socket_path is NULL, the path "
                    "configured in strata.conf(5) is used, which is /run/strata/stratad.sock unless an administrator "
                    "changed it.",
                    "A pool handle is not a file descriptor. It carries the credentials of the client, a small cache of "
                    "object metadata and the negotiated protocol version, and it may be shared between the threads of "
                    "one process. It must not be used in a child after fork(2); the child has to call strata_connect() "
                    "again.",
                    "The flags argument is a bit mask of zero or more of the following:",
                    _Tag(
                        "STRATA_RDONLY",
                        "Attach in read-only mode. Calls that would modify the pool fail with EROFS, which makes the "
                        "flag a cheap safety net for reporting tools.",
                    ),
                    _Tag(
                        "STRATA_NOCACHE",
                        "Disable the metadata cache. Every strata_stat(2) then asks the daemon, which costs a round "
                        "trip but never returns a stale size or generation.",
                    ),
                    _Tag(
                        "STRATA_WAIT",
                        "If the daemon is not running yet, retry for up to thirty seconds instead of failing at once. "
                        "Service units that start together with stratad(8) should pass this flag.",
                    ),
                    "strata_disconnect() closes every object handle still open on the pool, releases the locks and "
                    "leases held through it and frees the handle.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "strata_connect() returns a pointer to the new pool handle on success. On error it returns NULL and "
                    "sets errno to indicate the error. strata_disconnect() returns 0 on success and -1 on error.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("ENOENT", "No pool named pool exists on this daemon."),
                    _Tag(
                        "ECONNREFUSED",
                        "Nothing is listening on the socket: stratad is not running and STRATA_WAIT was not given.",
                    ),
                    _Tag("EACCES", "The user of the caller is not in the access list of the pool."),
                    _Tag("EPROTO", "The daemon speaks a protocol version older than the library supports."),
                ),
            ),
            (
                "EXAMPLES",
                (
                    "To connect from a service that may start before the daemon, pass STRATA_WAIT and treat a NULL "
                    "result as fatal, as in the following fragment.",
                    _Code(
                        """\
strata_pool_t *pool = strata_connect("media", NULL, STRATA_WAIT);
if (pool == NULL) {
    perror("strata_connect");
    exit(EXIT_FAILURE);
}
/* ... use the pool ... */
strata_disconnect(pool);
"""
                    ),
                ),
            ),
        ),
        "strata_open(2), strata.conf(5), stratad(8)",
    ),
    _ManPage(
        "strata_open",
        2,
        "strata_open, strata_openat",
        "open an object in a storage pool",
        _INCLUDE
        + """\
int strata_open(strata_pool_t *pool, const char *key, int flags);
int strata_openat(strata_pool_t *pool, const char *key, int flags,
                  uint64_t generation);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_open() opens the object stored under key in pool and returns an object handle, a small "
                    "non-negative integer used by strata_read(2), strata_write(2) and the other calls that act on an "
                    "open object. Keys are byte strings of up to 1024 bytes; by convention they use the slash as a "
                    "separator, but the daemon gives the slash no special meaning.",
                    "The flags argument must include exactly one of the access modes STRATA_O_READ, STRATA_O_WRITE or "
                    "STRATA_O_RDWR. In addition, zero or more of the following flags may be given:",
                    _Tag(
                        "STRATA_O_CREATE",
                        "Create the object if it does not exist. The new object is empty and has generation 1.",
                    ),
                    _Tag(
                        "STRATA_O_EXCL",
                        "Together with STRATA_O_CREATE, fail with EEXIST if the object already exists. This is the usual "
                        "way to claim a key that several clients race for.",
                    ),
                    _Tag(
                        "STRATA_O_TRUNC",
                        "Discard the content of an existing object when it is opened for writing. The generation is "
                        "incremented as for any other write.",
                    ),
                    _Tag(
                        "STRATA_O_APPEND",
                        "Position every write at the current end of the object, as the daemon sees it when it applies "
                        "the write, so that concurrent appenders never overwrite each other.",
                    ),
                    _Sub("Opening a past generation"),
                    "strata_openat() opens the object as it was at the given generation, provided that generation is "
                    "still retained by a snapshot or by the version history of the pool. An object opened this way is "
                    "always read-only, whatever the flags say, and reads return the bytes exactly as they were when that "
                    "generation was current.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "On success, strata_open() and strata_openat() return a new object handle, which is the lowest "
                    "handle number not currently open in the calling process. On error, -1 is returned and errno is set "
                    "to indicate the error.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("EEXIST", "STRATA_O_CREATE and STRATA_O_EXCL were given and the object exists."),
                    _Tag(
                        "ENOENT",
                        "The object does not exist and STRATA_O_CREATE was not given, or the requested generation is no "
                        "longer retained.",
                    ),
                    _Tag("ENAMETOOLONG", "The key is longer than 1024 bytes."),
                    _Tag("EROFS", "Write access was requested on a read-only connection."),
                    _Tag(
                        "EMFILE",
                        "The process already has STRATA_MAX_HANDLES handles open, 4096 unless configured otherwise.",
                    ),
                ),
            ),
            (
                "NOTES",
                (
                    "Opening an object does not lock it. Two processes can open the same object for writing at the same "
                    "time, and the last write to a byte range wins; use strata_lock(2) or the conditional writes of "
                    "strata_write(2) when that is not acceptable.",
                ),
            ),
            (
                "EXAMPLES",
                (
                    "To claim a key that several workers race for, open it with STRATA_O_CREATE and STRATA_O_EXCL. "
                    "Exactly one worker succeeds; the others get EEXIST and can move on to the next key.",
                    _Code(
                        """\
int sd = strata_open(pool, "jobs/2024/manifest.json",
                     STRATA_O_WRITE | STRATA_O_CREATE | STRATA_O_EXCL);
if (sd == -1 && errno == EEXIST)
    return claim_lost();
"""
                    ),
                ),
            ),
        ),
        "strata_close(2), strata_lock(2), strata_read(2), strata_write(2), strata.pools(5)",
    ),
    _ManPage(
        "strata_close",
        2,
        "strata_close",
        "close an object handle",
        _INCLUDE + "int strata_close(int sd);\n",
        (
            (
                "DESCRIPTION",
                (
                    "strata_close() closes the object handle sd, so that it no longer refers to any object and may be "
                    "reused by a later strata_open(2). Locks that the process holds on the object through this handle "
                    "are released. Leases are not, because a lease belongs to the pool connection rather than to a "
                    "handle.",
                    "Closing a handle does not make written data durable. Data written through the handle is visible to "
                    "other clients as soon as strata_write(2) returns, but it reaches stable storage on every replica "
                    "only after strata_sync(2) or after the background flush of the daemon, which runs every five "
                    "seconds by default.",
                    "If sd was the last handle that referred to an object removed with strata_unlink(2) while it was "
                    "open, the space of the object is reclaimed when strata_close() returns.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "strata_close() returns zero on success. On error, -1 is returned and errno is set. The handle is "
                    "closed even when an error is reported, so the call must not be retried.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("EBADF", "sd is not a valid open handle."),
                    _Tag(
                        "EIO",
                        "A replica reported a deferred write error. The data of the last writes may be lost; the "
                        "handle is closed nonetheless.",
                    ),
                    _Tag("EINTR", "The call was interrupted by a signal before the daemon confirmed the close."),
                ),
            ),
            (
                "NOTES",
                (
                    "Retrying strata_close() after an error is a bug in multithreaded programs. By the time of the retry, "
                    "another thread may have received the same handle number from strata_open(2), and the retry would "
                    "close that unrelated object.",
                ),
            ),
        ),
        "strata_open(2), strata_sync(2), strata_unlink(2)",
    ),
    _ManPage(
        "strata_read",
        2,
        "strata_read, strata_pread",
        "read bytes from an object",
        _INCLUDE
        + """\
ssize_t strata_read(int sd, void *buf, size_t count);
ssize_t strata_pread(int sd, void *buf, size_t count, uint64_t offset);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_read() reads up to count bytes from the object open on handle sd into the buffer starting "
                    "at buf, beginning at the current offset of the handle, and advances the offset by the number of "
                    "bytes read. strata_pread() reads from the given offset instead and leaves the offset of the handle "
                    "unchanged, which makes it safe to use from several threads on one handle.",
                    "Reads see a consistent view of the object: a read never returns part of one write and part of a "
                    "concurrent one. The view is the generation that was current when the read reached the daemon, and "
                    "strata_fstat(2) reports which generation that was if the caller needs to know.",
                    "A read of more than 8 MiB is split by the library into several requests. The object may change "
                    "between those requests unless the handle was opened on a fixed generation with strata_openat(2) or "
                    "the caller holds a shared lock.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "strata_read() returns the number of bytes read, which is zero at the end of the object. A return "
                    "value smaller than count is not an error; it happens at the end of the object and when a signal "
                    "interrupts a large read. On error, -1 is returned and errno is set.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("EBADF", "sd is not open for reading."),
                    _Tag("EINVAL", "offset lies beyond the largest object size the pool supports."),
                    _Tag("EIO", "Every replica of a block failed its checksum. Run strata-scrub(8) on the pool."),
                    _Tag("ESTALE", "The generation the handle was opened on is no longer retained."),
                ),
            ),
            (
                "EXAMPLES",
                (
                    "To copy a whole object to standard output, read it in a loop until strata_read() returns zero. A "
                    "buffer of 64 KiB keeps the number of requests low without wasting memory.",
                    _Code(
                        """\
char buf[65536];
ssize_t n;
while ((n = strata_read(sd, buf, sizeof buf)) > 0)
    fwrite(buf, 1, n, stdout);
if (n == -1)
    perror("strata_read");
"""
                    ),
                ),
            ),
        ),
        "strata_open(2), strata_stat(2), strata_write(2)",
    ),
    _ManPage(
        "strata_write",
        2,
        "strata_write, strata_pwrite, strata_cwrite",
        "write bytes to an object",
        _INCLUDE
        + """\
ssize_t strata_write(int sd, const void *buf, size_t count);
ssize_t strata_pwrite(int sd, const void *buf, size_t count,
                      uint64_t offset);
ssize_t strata_cwrite(int sd, const void *buf, size_t count,
                      uint64_t offset, uint64_t expected_generation);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_write() writes count bytes from buf to the object open on sd at the current offset of the "
                    "handle and advances the offset. strata_pwrite() writes at offset without moving the offset of the "
                    "handle. Writing past the end of the object extends it; a gap between the old end and the start of "
                    "the write reads back as zero bytes and takes no space.",
                    "Every successful write increments the generation of the object by one. Other clients see the new "
                    "content as soon as the call returns, but durability depends on the sync policy of the pool, which "
                    "is described in strata.pools(5).",
                    _Sub("Conditional writes"),
                    "strata_cwrite() is a conditional write. It succeeds only if the generation of the object is still "
                    "expected_generation when the daemon applies it, and fails with ESTALE otherwise, without writing "
                    "anything.",
                    "Read the object, compute the new content and write it back with strata_cwrite() to update it "
                    "safely without holding a lock. On ESTALE, read the object again and retry.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "On success, the number of bytes written is returned. It is always count, because the daemon applies "
                    "a write entirely or not at all. On error, -1 is returned, errno is set and the object is unchanged.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("EBADF", "sd is not open for writing."),
                    _Tag(
                        "EDQUOT",
                        "The write would exceed a hard quota of the pool or of a key prefix; see strata_setquota(2).",
                    ),
                    _Tag("ENOSPC", "The devices of the pool have no room for another replica of the data."),
                    _Tag("ESTALE", "strata_cwrite() only: the generation of the object is not expected_generation."),
                    _Tag("EFBIG", "The write would make the object larger than 4 TiB."),
                ),
            ),
        ),
        "strata_open(2), strata_read(2), strata_sync(2), strata.pools(5)",
    ),
    _ManPage(
        "strata_stat",
        2,
        "strata_stat, strata_fstat",
        "get the status of an object",
        _INCLUDE
        + """\
int strata_stat(strata_pool_t *pool, const char *key,
                struct strata_stat *st);
int strata_fstat(int sd, struct strata_stat *st);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_stat() fills the structure pointed to by st with information about the object stored under "
                    "key. strata_fstat() does the same for an object that is already open on handle sd, which also works "
                    "for objects that were unlinked after they were opened.",
                    _Code(
                        """\
struct strata_stat {
    uint64_t        st_size;        /* bytes */
    uint64_t        st_generation;  /* writes since creation */
    uint32_t        st_replicas;    /* replicas holding it */
    uint32_t        st_flags;
    struct timespec st_mtime;       /* last write */
    struct timespec st_ctime;       /* last metadata change */
};
"""
                    ),
                    "The st_size field is the size of the object in bytes, and st_generation is the number of writes "
                    "applied to it since it was created. The st_replicas field counts the replicas that hold the current "
                    "generation; it is smaller than the replication factor of the pool while a replica is being rebuilt.",
                    "The st_mtime field is the time of the last write, as recorded by the daemon that applied it, and "
                    "st_ctime the time of the last change to the metadata of the object, such as a rename or an "
                    "attribute update. Clocks of the cluster are not assumed to agree, so compare generations, not "
                    "times, to find out which of two states is newer.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "Both calls return zero on success. On error, -1 is returned and errno is set to indicate the error.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("ENOENT", "No object is stored under key."),
                    _Tag("EBADF", "sd is not a valid open handle."),
                    _Tag("ENAMETOOLONG", "The key is longer than 1024 bytes."),
                ),
            ),
        ),
        "strata_getxattr(2), strata_open(2), strata-ls(1)",
    ),
    _ManPage(
        "strata_sync",
        2,
        "strata_sync, strata_syncpool",
        "make written data durable",
        _INCLUDE
        + """\
int strata_sync(int sd, int level);
int strata_syncpool(strata_pool_t *pool, int level);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_sync() blocks until all data written through handle sd has reached stable storage at the "
                    "requested durability level. strata_syncpool() does the same for every write the connection has made "
                    "to the pool, through any handle.",
                    "The level argument is one of the following:",
                    _Tag(
                        "STRATA_SYNC_LOCAL",
                        "The data is on stable storage on the replica that accepted the write. This is the cheapest "
                        "level; it protects against a crash of the daemon, not against the loss of the machine.",
                    ),
                    _Tag(
                        "STRATA_SYNC_QUORUM",
                        "The data is on stable storage on a majority of the replicas of the pool. This is the level "
                        "most applications want, and the one the background flush uses.",
                    ),
                    _Tag(
                        "STRATA_SYNC_ALL",
                        "The data is on stable storage on every replica, including replicas in other zones. The call "
                        "waits for the slowest replica and may take seconds while one is being rebuilt.",
                    ),
                    "A successful return is a promise about the past, not about the future: data written after the call "
                    "started may or may not be included.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "strata_sync() and strata_syncpool() return zero when the requested level has been reached. On "
                    "error, -1 is returned and errno is set; some of the data may then have reached fewer replicas than "
                    "requested.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("EBADF", "sd is not a valid open handle."),
                    _Tag("EINVAL", "level is not one of the values above."),
                    _Tag(
                        "ETIMEDOUT",
                        "The level could not be reached within the sync timeout of the pool, 60 seconds by default.",
                    ),
                ),
            ),
            (
                "NOTES",
                (
                    "Calling strata_sync() after every write is rarely necessary. Applications that need each write to "
                    "be durable before they acknowledge it should set the sync policy of the pool to quorum in "
                    "strata.pools(5), which makes every write wait for a quorum without a separate call.",
                ),
            ),
        ),
        "strata_close(2), strata_write(2), strata.pools(5)",
    ),
    _ManPage(
        "strata_lock",
        2,
        "strata_lock, strata_unlock",
        "lock or unlock an open object",
        _INCLUDE
        + """\
int strata_lock(int sd, int mode);
int strata_unlock(int sd);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_lock() places a lock on the object open on handle sd. Locks are advisory: they stop other "
                    "callers of strata_lock() from taking a conflicting lock, but they do not stop anyone from reading or "
                    "writing the object.",
                    "The mode argument is STRATA_LOCK_SH for a shared lock, which any number of handles may hold at once, "
                    "or STRATA_LOCK_EX for an exclusive lock, which only one handle may hold. Either may be combined with "
                    "STRATA_LOCK_NB to fail with EWOULDBLOCK instead of waiting when the lock is not available.",
                    "A handle holds at most one lock on its object. Calling strata_lock() on a handle that already holds "
                    "one converts it to the new mode; the conversion is not atomic, so another waiter may take the lock "
                    "in between.",
                    "strata_unlock() removes the lock held through sd. Locks are also released when the handle is closed "
                    "and when the connection to the daemon is lost, so a crashed process never leaves a lock behind.",
                ),
            ),
            (
                "RETURN VALUE",
                ("On success, zero is returned. On error, -1 is returned and errno is set to indicate the error.",),
            ),
            (
                "ERRORS",
                (
                    _Tag("EWOULDBLOCK", "STRATA_LOCK_NB was given and a conflicting lock is held."),
                    _Tag(
                        "EDEADLK",
                        "The daemon detected that waiting for this lock would deadlock with a lock the caller is "
                        "waiting for through another handle.",
                    ),
                    _Tag("EINTR", "A signal arrived while the call was waiting for the lock."),
                ),
            ),
            (
                "NOTES",
                (
                    "To exclude processes on different machines, or across restarts of the daemon, use strata_lease(2) "
                    "instead of a lock. Locks live in the memory of the daemon that owns the object and do not survive "
                    "its restart.",
                ),
            ),
        ),
        "strata_lease(2), strata_open(2), strata_write(2)",
    ),
    _ManPage(
        "strata_lease",
        2,
        "strata_lease_acquire, strata_lease_renew, strata_lease_release",
        "time-limited exclusive ownership of a key",
        _INCLUDE
        + """\
int strata_lease_acquire(strata_pool_t *pool, const char *key,
                         unsigned ttl, uint64_t *token);
int strata_lease_renew(strata_pool_t *pool, const char *key,
                       uint64_t token);
int strata_lease_release(strata_pool_t *pool, const char *key,
                         uint64_t token);
""",
        (
            (
                "DESCRIPTION",
                (
                    "A lease is an exclusive claim on a key that expires unless its holder renews it. Leases are "
                    "replicated like objects, so they survive the restart of a daemon, and they are the building block "
                    "for leader election among processes on different machines.",
                    "strata_lease_acquire() takes the lease on key for ttl seconds, or for thirty seconds when ttl is "
                    "zero, and stores a fencing token in *token. The key does not need to name an existing object. If "
                    "another client holds an unexpired lease on the key, the call fails with EBUSY; it never waits.",
                    "strata_lease_renew() extends the lease by its original ttl, counted from the moment the daemon "
                    "receives the request. Renew at intervals of no more than a third of the ttl, so that one lost "
                    "request or a slow garbage collection pause does not lose the lease.",
                    _Sub("Fencing tokens"),
                    "The fencing token increases every time the lease on a key changes hands. Include it in every "
                    "request to the resource the lease protects, and have the resource reject tokens lower than the "
                    "highest it has seen, so that a former holder that was paused past the expiry of its lease cannot "
                    "overwrite the work of the new one.",
                ),
            ),
            ("RETURN VALUE", ("All three calls return zero on success and -1 on error, with errno set.",)),
            (
                "ERRORS",
                (
                    _Tag("EBUSY", "Another client holds an unexpired lease on key."),
                    _Tag(
                        "ESTALE",
                        "The token does not match the current lease: it expired and another client has taken it.",
                    ),
                    _Tag("EINVAL", "ttl is larger than 3600 seconds."),
                ),
            ),
            (
                "EXAMPLES",
                (
                    "To elect a leader, let every candidate try to acquire the same lease. The one that succeeds "
                    "renews it while it works and releases it when it shuts down, so another candidate can take over "
                    "at once instead of waiting for the lease to expire.",
                    _Code(
                        """\
uint64_t token;
if (strata_lease_acquire(pool, "leader/billing", 15, &token) == 0) {
    run_as_leader(token);    /* renews every 5 seconds */
    strata_lease_release(pool, "leader/billing", token);
}
"""
                    ),
                ),
            ),
        ),
        "strata_lock(2), strata(7)",
    ),
    _ManPage(
        "strata_snapshot",
        2,
        "strata_snapshot, strata_snapshot_delete",
        "create or delete a pool snapshot",
        _INCLUDE
        + """\
int strata_snapshot(strata_pool_t *pool, const char *name, int flags);
int strata_snapshot_delete(strata_pool_t *pool, const char *name);
""",
        (
            (
                "DESCRIPTION",
                (
                    "A snapshot is a read-only, point-in-time view of a whole pool. strata_snapshot() creates one called "
                    "name in a few milliseconds whatever the size of the pool, because the snapshot shares every block "
                    "with the live pool and blocks are only copied when one side changes them.",
                    "The snapshot contains every write that completed before the call started and none that started "
                    "after it returned. Writes that were in flight during the call are either entirely in the snapshot "
                    "or entirely outside it.",
                    "Snapshot names are up to 64 bytes of letters, digits, dots, dashes and underscores. With "
                    "STRATA_SNAP_RECURSIVE, pools cloned from this pool are snapshotted at the same instant under the "
                    "same name, which keeps a family of clones consistent.",
                    "strata_snapshot_delete() removes a snapshot. Blocks that no other snapshot or live object refers to "
                    "are freed in the background, so the free space of the pool keeps growing for some minutes after the "
                    "call returns.",
                ),
            ),
            (
                "RETURN VALUE",
                ("On success, zero is returned. On error, -1 is returned and errno is set to indicate the error.",),
            ),
            (
                "ERRORS",
                (
                    _Tag("EEXIST", "A snapshot called name already exists."),
                    _Tag("EINVAL", "name is empty, too long or contains a character that is not allowed."),
                    _Tag(
                        "EBUSY",
                        "strata_snapshot_delete() only: a clone was created from the snapshot. Delete the clone first.",
                    ),
                    _Tag("ENOSPC", "The pool has reached its snapshot limit, 1024 by default."),
                ),
            ),
        ),
        "strata_clone(2), strata_rollback(2), strata-snap(1)",
    ),
    _ManPage(
        "strata_clone",
        2,
        "strata_clone",
        "create a writable pool from a snapshot",
        _INCLUDE
        + """\
int strata_clone(strata_pool_t *pool, const char *snapshot,
                 const char *new_pool, int flags);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_clone() creates a new pool named new_pool whose initial content is the snapshot snapshot of "
                    "pool. Unlike the snapshot itself, the clone is writable. It starts out sharing all of its blocks "
                    "with the snapshot and uses space only for what is written to it afterwards.",
                    "Clones are the cheapest way to give a test environment a full copy of production data. A clone of "
                    "a pool with two terabytes of objects is ready in under a second and takes no additional space "
                    "until the tests write to it.",
                    "The clone inherits the replication factor, the sync policy and the quotas of its origin. Its name "
                    "must not exist yet, and it is created on the same devices as the origin; use strata-cp(1) to copy "
                    "data to other devices.",
                    "With STRATA_CLONE_PROMOTE, the dependency is reversed once the clone exists: the clone becomes the "
                    "origin and the old pool becomes the clone. This lets an administrator replace a pool with a "
                    "repaired copy and then delete the old one.",
                ),
            ),
            (
                "RETURN VALUE",
                ("strata_clone() returns zero when the new pool is ready. On error, -1 is returned and errno is set.",),
            ),
            (
                "ERRORS",
                (
                    _Tag("ENOENT", "pool has no snapshot called snapshot."),
                    _Tag("EEXIST", "A pool named new_pool already exists."),
                    _Tag("EPERM", "The caller may read pool but lacks the right to create pools."),
                ),
            ),
        ),
        "strata_rollback(2), strata_snapshot(2), strata-snap(1)",
    ),
    _ManPage(
        "strata_rollback",
        2,
        "strata_rollback",
        "return a pool to the state of a snapshot",
        _INCLUDE + "int strata_rollback(strata_pool_t *pool, const char *snapshot, int flags);\n",
        (
            (
                "DESCRIPTION",
                (
                    "strata_rollback() discards every change made to pool since snapshot was taken, so the live pool "
                    "becomes identical to the snapshot again. Objects created after the snapshot disappear, deleted "
                    "objects reappear and every object returns to the generation it had when the snapshot was taken.",
                    "The rollback is atomic for readers: a client sees either the state before the rollback or the state "
                    "after it, never a mixture. Open handles on objects that change are invalidated, and the next call "
                    "on them fails with ESTALE.",
                    "By default only the most recent snapshot can be rolled back to. To roll back past newer snapshots, "
                    "pass STRATA_ROLLBACK_DESTROY_NEWER, which deletes every snapshot taken after snapshot; the flag "
                    "exists so that nobody destroys a week of snapshots by mistyping a name.",
                ),
            ),
            (
                "RETURN VALUE",
                ("On success, zero is returned. On error, -1 is returned, errno is set and the pool is unchanged.",),
            ),
            (
                "ERRORS",
                (
                    _Tag(
                        "EBUSY",
                        "Newer snapshots exist and STRATA_ROLLBACK_DESTROY_NEWER was not given, or a clone depends on "
                        "one of them.",
                    ),
                    _Tag("ENOENT", "pool has no snapshot called snapshot."),
                    _Tag("EROFS", "The connection is read-only."),
                ),
            ),
            (
                "NOTES",
                (
                    "A rollback is a one-way operation that cannot be undone. Take a snapshot of the current state first "
                    "if there is any chance that you will want it back; the snapshot costs almost nothing.",
                ),
            ),
        ),
        "strata_clone(2), strata_snapshot(2)",
    ),
    _ManPage(
        "strata_unlink",
        2,
        "strata_unlink",
        "remove an object",
        _INCLUDE + "int strata_unlink(strata_pool_t *pool, const char *key, int flags);\n",
        (
            (
                "DESCRIPTION",
                (
                    "strata_unlink() removes the object stored under key from pool. The key becomes free at once: a later "
                    "strata_open(2) with STRATA_O_CREATE creates a new, unrelated object under the same key, starting "
                    "again at generation 1.",
                    "Handles that are already open on the object keep working until they are closed. Reads return the "
                    "old content and writes go to an object that no longer has a name. The space is reclaimed when the "
                    "last such handle is closed, or immediately if there is none.",
                    "With STRATA_UNLINK_PREFIX, key is taken as a prefix and every object whose key starts with it is "
                    "removed. This removal is not atomic; if the call fails halfway, some objects are gone and others "
                    "remain, and the call can simply be repeated.",
                    "Objects referenced by a snapshot keep their blocks until the snapshot is deleted. Removing a large "
                    "object therefore frees no space in a pool whose snapshots still contain it.",
                ),
            ),
            (
                "RETURN VALUE",
                ("On success, zero is returned. On error, -1 is returned and errno is set to indicate the error.",),
            ),
            (
                "ERRORS",
                (
                    _Tag("ENOENT", "No object is stored under key."),
                    _Tag("EROFS", "The connection is read-only."),
                    _Tag("EBUSY", "The key is under an unexpired lease held by another client."),
                ),
            ),
        ),
        "strata_close(2), strata_open(2), strata_snapshot(2)",
    ),
    _ManPage(
        "strata_rename",
        2,
        "strata_rename",
        "change the key of an object",
        _INCLUDE
        + """\
int strata_rename(strata_pool_t *pool, const char *oldkey,
                  const char *newkey, int flags);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_rename() moves the object stored under oldkey to newkey within the same pool. The content, "
                    "the generation and the extended attributes of the object are kept, and open handles follow the "
                    "object to its new key.",
                    "If newkey already names an object, that object is replaced atomically: at every moment, a reader of "
                    "newkey finds either the old or the new object. This makes rename the standard way to publish an "
                    "object that was written under a temporary key.",
                    "With STRATA_RENAME_NOREPLACE the call fails with EEXIST instead of replacing an existing object. "
                    "With STRATA_RENAME_EXCHANGE the two objects swap keys in one atomic step, and both keys must exist.",
                    "Renames across pools are not possible, because pools share no storage. Copy the object with "
                    "strata-cp(1) and remove the original instead.",
                ),
            ),
            (
                "RETURN VALUE",
                ("On success, zero is returned. On error, -1 is returned and errno is set to indicate the error.",),
            ),
            (
                "ERRORS",
                (
                    _Tag("EEXIST", "STRATA_RENAME_NOREPLACE was given and newkey exists."),
                    _Tag(
                        "ENOENT",
                        "oldkey does not exist, or STRATA_RENAME_EXCHANGE was given and newkey does not exist.",
                    ),
                    _Tag("EINVAL", "Both STRATA_RENAME_NOREPLACE and STRATA_RENAME_EXCHANGE were given."),
                ),
            ),
        ),
        "strata_unlink(2), strata-cp(1)",
    ),
    _ManPage(
        "strata_watch",
        2,
        "strata_watch, strata_watch_next",
        "wait for changes to objects",
        _INCLUDE
        + """\
int strata_watch(strata_pool_t *pool, const char *prefix, uint32_t events);
int strata_watch_next(int wd, struct strata_event *ev, int timeout_ms);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_watch() asks the daemon to report changes to every object whose key starts with prefix and "
                    "returns a watch descriptor. An empty prefix watches the whole pool. The events argument selects "
                    "what is reported, as a bit mask of STRATA_EV_WRITE, STRATA_EV_CREATE, STRATA_EV_UNLINK and "
                    "STRATA_EV_RENAME.",
                    "strata_watch_next() waits for the next event on the watch descriptor wd and stores it in *ev. It "
                    "returns at once when an event is queued and otherwise waits up to timeout_ms milliseconds; a "
                    "timeout of -1 waits forever.",
                    "Events are coalesced. Ten writes to one object in quick succession may be reported as a single "
                    "STRATA_EV_WRITE carrying the latest generation, so a watcher must treat an event as a hint to look "
                    "at the object again, not as a record of every change.",
                    "The daemon queues at most 65536 events per watch. When the queue overflows, older events are "
                    "dropped and the next call returns a STRATA_EV_OVERFLOW event; the watcher should then list the "
                    "prefix again to find out what changed.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "strata_watch() returns a new watch descriptor. strata_watch_next() returns 1 when it stored an event "
                    "and 0 on timeout. Both return -1 on error and set errno.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("EBADF", "wd is not a valid watch descriptor."),
                    _Tag("ENFILE", "The connection already has 1024 watches, the maximum."),
                    _Tag("EINTR", "A signal arrived while strata_watch_next() was waiting."),
                ),
            ),
        ),
        "strata_stat(2), strata-ls(1)",
    ),
    _ManPage(
        "strata_getxattr",
        2,
        "strata_getxattr, strata_setxattr, strata_listxattr",
        "extended attributes of an object",
        _INCLUDE
        + """\
ssize_t strata_getxattr(int sd, const char *name, void *value, size_t size);
int strata_setxattr(int sd, const char *name, const void *value,
                    size_t size, int flags);
ssize_t strata_listxattr(int sd, char *list, size_t size);
""",
        (
            (
                "DESCRIPTION",
                (
                    "Extended attributes are name and value pairs stored with an object but outside its content. They "
                    "hold small pieces of metadata, such as a content type, a checksum computed by the application or "
                    "the identity of the process that produced the object.",
                    "strata_getxattr() copies the value of the attribute name of the object open on sd into value, which "
                    "has room for size bytes. If size is zero, nothing is copied and the call returns the current length "
                    "of the value, so that the caller can allocate a buffer of the right size.",
                    "strata_setxattr() creates or replaces an attribute. Setting an attribute does not change the "
                    "generation of the object, but it does update st_ctime as reported by strata_stat(2). The flags "
                    "STRATA_XATTR_CREATE and STRATA_XATTR_REPLACE make the call fail if the attribute already exists or "
                    "does not exist yet.",
                    "strata_listxattr() stores the names of all attributes of the object in list, each one terminated "
                    "by a null byte.",
                    _Sub("Limits"),
                    "Attribute names are at most 255 bytes long, and names in the strata namespace are reserved for the "
                    "daemon. The names and values of all attributes of one object must fit in 64 KiB together.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "strata_getxattr() and strata_listxattr() return the number of bytes stored, strata_setxattr() "
                    "returns zero; all three return -1 on error and set errno.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("ENODATA", "The object has no attribute called name."),
                    _Tag("ERANGE", "size is smaller than the value."),
                    _Tag("ENOSPC", "The attributes of the object would no longer fit in 64 KiB."),
                    _Tag("EPERM", "The name is in the reserved strata namespace."),
                ),
            ),
        ),
        "strata_stat(2), strata-cp(1)",
    ),
    _ManPage(
        "strata_setquota",
        2,
        "strata_setquota, strata_getquota",
        "manage the space limits of a pool or key prefix",
        _INCLUDE
        + """\
int strata_setquota(strata_pool_t *pool, const char *prefix,
                    const struct strata_quota *q);
int strata_getquota(strata_pool_t *pool, const char *prefix,
                    struct strata_quota *q);
""",
        (
            (
                "DESCRIPTION",
                (
                    "A quota limits the bytes and the number of objects stored under a key prefix. strata_setquota() "
                    "sets the limits for prefix and replaces any limits set before; an empty prefix sets the quota of "
                    "the whole pool.",
                    _Code(
                        """\
struct strata_quota {
    uint64_t q_soft_bytes;
    uint64_t q_hard_bytes;
    uint64_t q_max_objects;
    uint32_t q_grace_seconds;
    uint64_t q_used_bytes;      /* filled by strata_getquota() */
    uint64_t q_objects;         /* filled by strata_getquota() */
};
"""
                    ),
                    "The hard limit is never exceeded: a write that would go past q_hard_bytes fails with EDQUOT. The "
                    "soft limit may be exceeded for q_grace_seconds; after that, it is enforced like a hard limit until "
                    "usage drops below it again. A limit of zero means no limit.",
                    "Quotas count logical bytes, the size of the objects as a client sees them, not the space they take "
                    "on disk after replication and compression. Blocks shared with snapshots count against the prefix "
                    "that wrote them.",
                    "strata_getquota() fills *q with the limits of prefix and the current usage in q_used_bytes and "
                    "q_objects. Usage is updated asynchronously and may be a few seconds out of date.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "Both calls return zero on success. On error, -1 is returned and errno is set to indicate the error.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("EPERM", "Setting a quota requires the admin right on the pool."),
                    _Tag("EINVAL", "q_soft_bytes is larger than q_hard_bytes."),
                ),
            ),
        ),
        "strata_write(2), stratactl(1)",
    ),
    _ManPage(
        "strata_replicate",
        2,
        "strata_replicate, strata_replication_status",
        "replicate a pool to another cluster",
        _INCLUDE
        + """\
int strata_replicate(strata_pool_t *pool, const char *peer,
                     const char *target_pool, int flags);
int strata_replication_status(strata_pool_t *pool, const char *peer,
                              struct strata_repl_status *st);
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata_replicate() starts asynchronous replication of pool to target_pool on the peer cluster named "
                    "peer. Peers are defined by the administrator in strata.conf(5); the call does not accept addresses. "
                    "The target pool must be empty or a previous replica of the same pool, in which case replication "
                    "resumes where it stopped.",
                    "Replication ships snapshots, not individual writes. Every replication interval the daemon takes a "
                    "snapshot of the pool, sends the blocks that changed since the previous one and, once the peer has "
                    "them, deletes the older snapshot. The target is therefore always a consistent state of the source, "
                    "at most one interval old.",
                    "The replication lag is the age of the newest snapshot the peer has fully received. "
                    "strata_replication_status() reports it in st_lag_seconds together with the bytes still to send, "
                    "and monitoring should alert when the lag exceeds three intervals.",
                    "With STRATA_REPL_STOP the call stops replication to the peer and leaves the target pool as it is; "
                    "with STRATA_REPL_FAILOVER it also makes the target pool writable, so that clients of the peer "
                    "cluster can take over.",
                ),
            ),
            (
                "RETURN VALUE",
                (
                    "Both calls return zero on success. On error, -1 is returned and errno is set to indicate the error.",
                ),
            ),
            (
                "ERRORS",
                (
                    _Tag("ENOENT", "peer is not defined in strata.conf(5)."),
                    _Tag("ENOTEMPTY", "target_pool contains objects that did not come from pool."),
                    _Tag("ECONNREFUSED", "No daemon of the peer cluster accepted the connection."),
                ),
            ),
        ),
        "strata_snapshot(2), strata.conf(5), stratad(8)",
    ),
    _ManPage(
        "stratactl",
        1,
        "stratactl",
        "control the Strata storage daemon",
        """\
stratactl [-s socket] [-j] pool list
stratactl [-s socket] [-j] pool create name --devices list [--replicas n]
stratactl [-s socket] [-y] pool destroy name
stratactl [-s socket] [-j] status
stratactl [-s socket] [-j] peer add|remove|list [name]
""",
        (
            (
                "DESCRIPTION",
                (
                    "stratactl is the administrative command-line client of stratad(8). It talks to the daemon over the "
                    "same Unix domain socket as the library and does everything an administrator needs that does not "
                    "involve object data: it creates and destroys pools, adds devices, defines replication peers and "
                    "reports the health of the daemon.",
                    "Every subcommand prints human-readable output by default. With -j, the output is a single JSON "
                    "document on standard output, which is the form scripts should parse; the human-readable layout may "
                    "change between releases without notice.",
                    _Sub("Subcommands"),
                    _Tag(
                        "pool create name --devices list",
                        "Create a pool on the given devices. The replication factor defaults to three and cannot be "
                        "larger than the number of devices.",
                    ),
                    _Tag(
                        "pool destroy name",
                        "Destroy a pool and every object, snapshot and quota in it. The command asks for the name of "
                        "the pool again unless --yes is given.",
                    ),
                    _Tag(
                        "status",
                        "Show the state of the daemon, of every pool and of every device, and the progress of running "
                        "scrubs and rebuilds.",
                    ),
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag(
                        "-s, --socket path",
                        "Connect to the daemon listening on path instead of the socket configured in strata.conf(5).",
                    ),
                    _Tag("-j, --json", "Print machine-readable JSON instead of tables."),
                    _Tag(
                        "-y, --yes",
                        "Do not ask for confirmation before destructive operations. Use it in scripts, never in your "
                        "interactive shell.",
                    ),
                    _Tag("-q, --quiet", "Print nothing on success."),
                ),
            ),
            (
                "EXIT STATUS",
                (
                    "stratactl exits with status 0 on success, 1 when the daemon reported an error, 2 for a usage error "
                    "and 3 when it could not reach the daemon at all.",
                ),
            ),
            (
                "EXAMPLES",
                (
                    "To create a pool with three replicas, give it three devices on different machines and then "
                    "check with the status subcommand that every device is online.",
                    _Code(
                        """\
$ stratactl pool create media --devices /dev/nvme1n1,/dev/nvme2n1,/dev/nvme3n1
$ stratactl status
"""
                    ),
                ),
            ),
        ),
        "strata-snap(1), strata-top(1), strata.conf(5), stratad(8)",
    ),
    _ManPage(
        "strata-cp",
        1,
        "strata-cp",
        "copy objects between pools and local files",
        "strata-cp [-r] [-p] [-j n] [--resume] [--verify] source... destination\n",
        (
            (
                "DESCRIPTION",
                (
                    "strata-cp copies data between local files and Strata objects, and between objects in different "
                    "pools. A Strata location is written as pool:key; anything without a colon is a local path. At least "
                    "one side of every copy must be a Strata location.",
                    "When a source is a key prefix ending in a slash and -r is given, every object under it is copied, "
                    "and the destination is treated as a prefix as well. Copies between two pools of the same daemon are "
                    "done by the daemon and never pass through the client.",
                    "strata-cp writes each object under a temporary key and renames it into place when the copy is "
                    "complete, so a reader of the destination never sees a partial object. An interrupted copy leaves "
                    "temporary keys behind, which a later run with --resume completes.",
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag("-r, --recursive", "Copy every object under a prefix."),
                    _Tag("-p, --preserve", "Copy extended attributes and modification times along with the content."),
                    _Tag(
                        "-j, --jobs n",
                        "Copy up to n objects in parallel. The default is four; raising it helps with many small objects "
                        "much more than with a few large ones.",
                    ),
                    _Tag(
                        "--resume", "Continue the copies of an earlier interrupted run instead of starting them again."
                    ),
                    _Tag(
                        "--verify",
                        "Read every destination object back after the copy and compare checksums. This doubles the read "
                        "traffic and is meant for one-off migrations.",
                    ),
                ),
            ),
            (
                "EXIT STATUS",
                (
                    "strata-cp exits with 0 if every object was copied, 1 if some copies failed and 2 for a usage error.",
                ),
            ),
            (
                "EXAMPLES",
                (
                    "The first command uploads a local file, the second copies a prefix between two pools with sixteen "
                    "parallel jobs, and the third completes a copy that was interrupted.",
                    _Code(
                        """\
$ strata-cp report.pdf archive:reports/2024/q2.pdf
$ strata-cp -r -j 16 media:thumbs/ backup:thumbs/
$ strata-cp --resume -r media:raw/ coldstore:raw/
"""
                    ),
                ),
            ),
        ),
        "strata-ls(1), strata_rename(2)",
    ),
    _ManPage(
        "strata-ls",
        1,
        "strata-ls",
        "list the objects of a pool",
        "strata-ls [-l] [-r] [-g] [--snapshot name] [--limit n] pool[:prefix]\n",
        (
            (
                "DESCRIPTION",
                (
                    "strata-ls lists the keys stored in a pool, optionally only those that start with prefix. Keys are "
                    "printed in byte order, one per line; a key that contains control characters is printed with those "
                    "characters escaped in C notation.",
                    "By default strata-ls treats the slash as a delimiter, as a shell would: it lists the keys directly "
                    "under the prefix and prints each deeper level once, as a common prefix ending in a slash. With -r "
                    "it lists every key under the prefix instead.",
                    "Large pools are listed at roughly fifty thousand keys per second, and the listing is not a "
                    "snapshot: objects created or removed while strata-ls runs may or may not appear. List a snapshot "
                    "with the --snapshot option when you need a consistent view.",
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag(
                        "-l, --long",
                        "Print the size, generation, replica count and modification time of each object.",
                    ),
                    _Tag("-r, --recursive", "Do not group keys by slash."),
                    _Tag(
                        "-g, --generations", "List every retained generation of each object, not only the current one."
                    ),
                    _Tag("--snapshot name", "List the objects of the named snapshot instead of the live pool."),
                    _Tag("--limit n", "Stop after n keys."),
                ),
            ),
            (
                "EXAMPLES",
                (
                    "To count the objects of a pool without being misled by concurrent writers, list a snapshot "
                    "recursively and count the lines.",
                    _Code(
                        """\
$ strata-ls -l media:thumbs/2024/
$ strata-ls -r --snapshot nightly-0612 media | wc -l
"""
                    ),
                ),
            ),
        ),
        "strata-cp(1), strata_stat(2)",
    ),
    _ManPage(
        "strata-snap",
        1,
        "strata-snap",
        "create, list and prune pool snapshots",
        """\
strata-snap create pool name
strata-snap list pool
strata-snap destroy pool name
strata-snap prune pool --keep policy [-n]
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata-snap manages the snapshots of a pool from the shell. It is a thin wrapper around "
                    "strata_snapshot(2) and strata_snapshot_delete(2), plus a pruning command that applies a retention "
                    "policy, which is the part most administrators use it for.",
                    _Sub("Retention policies"),
                    "A retention policy is a comma-separated list of rules of the form count:period, such as "
                    "24:hourly,14:daily,8:weekly. For each rule, prune keeps the newest snapshot in each of the last "
                    "count periods, and it deletes every snapshot that no rule keeps.",
                    "Snapshots whose name does not start with auto_ are never pruned, so snapshots made by hand survive "
                    "until someone deletes them. Pruning is safe to run as often as you like: it deletes nothing when "
                    "the policy keeps every snapshot, and it refuses to delete a snapshot that a clone depends on.",
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag("--keep policy", "The retention policy for prune."),
                    _Tag("-n, --dry-run", "Show what prune would delete without deleting anything."),
                    _Tag(
                        "--prefix text",
                        "Use text instead of auto_ as the prefix of the snapshots that prune may delete.",
                    ),
                ),
            ),
            (
                "EXAMPLES",
                (
                    "To protect a pool before a risky migration, take a snapshot by hand with a descriptive name; prune "
                    "will never delete it. The second command previews what a typical hourly, daily and weekly policy "
                    "would remove.",
                    _Code(
                        """\
$ strata-snap create media before-migration
$ strata-snap prune media --keep 24:hourly,14:daily,8:weekly --dry-run
"""
                    ),
                ),
            ),
        ),
        "strata_clone(2), strata_snapshot(2), stratactl(1)",
    ),
    _ManPage(
        "strata-top",
        1,
        "strata-top",
        "display live I/O statistics of a Strata daemon",
        "strata-top [-d seconds] [-p pool] [-b]\n",
        (
            (
                "DESCRIPTION",
                (
                    "strata-top shows the busiest pools, key prefixes and clients of a Strata daemon and refreshes the "
                    "display every two seconds. It is the first tool to reach for when a pool is slow, because one "
                    "screen shows whether the load comes from one client, one prefix or the devices themselves.",
                    "The upper part of the screen summarises the daemon: requests per second, bytes read and written per "
                    "second, the 99th percentile latency of reads and writes, and the state of each device. The lower "
                    "part lists the top consumers, sorted by the column selected with the arrow keys.",
                    _Sub("Interactive commands"),
                    _Tag("p", "Group the list by pool."),
                    _Tag("k", "Group the list by key prefix, cut at the second slash."),
                    _Tag("c", "Group the list by client process."),
                    _Tag("q", "Quit."),
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag("-d, --delay seconds", "Refresh the display every seconds seconds instead of every two."),
                    _Tag("-p, --pool name", "Show only the given pool."),
                    _Tag(
                        "-b, --batch",
                        "Print one plain text report per interval instead of drawing a screen, for use with a pipe or a "
                        "log file.",
                    ),
                ),
            ),
            (
                "NOTES",
                (
                    "The latency figures measure time spent inside the daemon. Network time and the time a request "
                    "waits in the client library are not included, so an application can see much higher latencies "
                    "than strata-top reports when the client side is the bottleneck.",
                ),
            ),
        ),
        "strata-bench(1), stratactl(1)",
    ),
    _ManPage(
        "strata-bench",
        1,
        "strata-bench",
        "measure the throughput and latency of a pool",
        "strata-bench [-s bytes] [-r percent] [-c clients] [-t seconds] [--keep] pool\n",
        (
            (
                "DESCRIPTION",
                (
                    "strata-bench runs a synthetic workload against a pool and reports throughput and latency "
                    "percentiles. It writes its objects under the prefix bench/ and removes them when it finishes, so it "
                    "can run against a pool that holds real data, although the load it generates slows down real "
                    "clients.",
                    "A workload is described by the object size, the ratio of reads to writes, the number of concurrent "
                    "clients and the duration. The defaults of 64 KiB objects, 70 percent reads, 16 clients and 60 "
                    "seconds approximate a typical web application and are a reasonable first measurement of a new "
                    "pool.",
                    "Results are printed when the run ends: operations per second, megabytes per second and the 50th, "
                    "99th and 99.9th percentile latencies of reads and writes. Compare runs only when they used the same "
                    "options on the same hardware, because small objects measure request overhead and large objects "
                    "measure device bandwidth.",
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag("-s, --size bytes", "The object size. The suffixes K, M and G are accepted."),
                    _Tag("-r, --read-ratio percent", "The share of operations that are reads."),
                    _Tag("-c, --clients n", "The number of concurrent clients."),
                    _Tag("-t, --time seconds", "The duration of the measurement, after a warm-up of ten seconds."),
                    _Tag(
                        "--keep",
                        "Do not remove the benchmark objects at the end, so that a later read-only run can use them.",
                    ),
                ),
            ),
            (
                "EXAMPLES",
                (
                    "To measure the write bandwidth of a new pool, use large objects, no reads and a few clients.",
                    _Code("$ strata-bench -s 4M -r 0 -c 8 -t 120 media\n"),
                ),
            ),
        ),
        "strata-top(1), strata.pools(5)",
    ),
    _ManPage(
        "strata.conf",
        5,
        "strata.conf",
        "configuration file of the Strata storage daemon",
        "/etc/strata/strata.conf\n",
        (
            (
                "DESCRIPTION",
                (
                    "strata.conf is read by stratad(8) when it starts and when it receives SIGHUP. It consists of "
                    "sections, each introduced by a name in square brackets and followed by lines of the form key = "
                    "value. Blank lines and lines starting with a number sign are ignored.",
                    "Settings that can change while the daemon runs, such as log levels and peer definitions, take effect "
                    "on reload. Settings that describe the identity of the daemon or its listening sockets are read only "
                    "at start-up; changing them requires a restart, and stratad logs a warning on reload for every such "
                    "setting that differs from the running value.",
                ),
            ),
            (
                "DAEMON SECTION",
                (
                    "The daemon section describes the daemon itself and its place in the cluster.",
                    _Tag(
                        "node_id",
                        "A name for this daemon, unique in the cluster. It is stored on every device the daemon formats, "
                        "and a daemon refuses to start with devices that carry a different node id.",
                    ),
                    _Tag(
                        "socket",
                        "The path of the Unix domain socket for local clients, /run/strata/stratad.sock by default.",
                    ),
                    _Tag(
                        "listen",
                        "The address and port for connections from the other daemons of the cluster and from peers, by "
                        "default port 7640 on all interfaces.",
                    ),
                    _Tag(
                        "data_dir", "The directory of the metadata database of the daemon, /var/lib/strata by default."
                    ),
                ),
            ),
            (
                "PEER SECTIONS",
                (
                    "A peer is a remote cluster that pools are replicated to with strata_replicate(2). Each peer has a "
                    "section named peer followed by the name of the peer in quotes. A peer section needs an address and the certificate authority that signed the certificate "
                    "of the peer, because replication traffic is always encrypted with TLS and there is no option to "
                    "turn that off.",
                    _Tag(
                        "address",
                        "Host name and port of one daemon of the peer cluster; the others are discovered from it.",
                    ),
                    _Tag("ca_file", "The certificate authority file for the peer."),
                    _Tag(
                        "bandwidth_limit",
                        "The maximum rate of replication traffic to the peer, for example 200M for 200 megabytes per "
                        "second. There is no limit by default.",
                    ),
                ),
            ),
            (
                "LOGGING SECTION",
                (
                    "The logging section is the place to raise the log level while you investigate a problem, and to "
                    "turn on the audit log that compliance reviews ask for.",
                    _Tag("level", "One of error, warning, info and debug. The default is info."),
                    _Tag(
                        "audit",
                        "When set to yes, every administrative operation is logged with the user who requested it.",
                    ),
                ),
            ),
            (
                "FILES",
                (
                    _Tag("/etc/strata/strata.conf", "The configuration file."),
                    _Tag("/etc/strata/pools.d/", "Pool definitions; see strata.pools(5)."),
                ),
            ),
            (
                "EXAMPLES",
                (
                    "The following file names the daemon, listens for the cluster on the default port, replicates to a "
                    "disaster recovery site at up to 200 megabytes per second and logs administrative operations.",
                    _Code(
                        """\
[daemon]
node_id = store-07
listen = :7640

[peer "dr-site"]
address = strata.dr.example:7640
ca_file = /etc/strata/dr-ca.pem
bandwidth_limit = 200M

[logging]
level = info
audit = yes
"""
                    ),
                ),
            ),
        ),
        "strata.pools(5), stratad(8), strata_replicate(2)",
    ),
    _ManPage(
        "strata.pools",
        5,
        "strata.pools",
        "pool definition files",
        "/etc/strata/pools.d/*.pool\n",
        (
            (
                "DESCRIPTION",
                (
                    "Pool definition files let administrators keep pool settings under version control instead of "
                    "creating pools by hand with stratactl(1). stratad reads every file ending in .pool in "
                    "/etc/strata/pools.d at start-up and on reload, creates the pools that do not exist yet and applies "
                    "changed settings to those that do.",
                    "A definition never destroys data. Removing a file does not remove its pool, and a change that needs "
                    "data to move, such as a lower replication factor, is applied gradually by the rebalancer rather "
                    "than at once.",
                ),
            ),
            (
                "SETTINGS",
                (
                    _Tag("name", "The name of the pool: up to 64 letters, digits, dashes and underscores."),
                    _Tag("devices", "A comma-separated list of block devices or device labels."),
                    _Tag("replicas", "The replication factor, from 1 to 5. The default is 3."),
                    _Tag(
                        "sync_policy",
                        "When a write is acknowledged: local, quorum or all, with the meanings described in "
                        "strata_sync(2). Pools with three or more replicas use quorum unless this says otherwise.",
                    ),
                    _Tag("compression", "One of none, lz4 and zstd. A change applies to new writes only."),
                    _Tag(
                        "history",
                        "How many past generations of each object to keep for strata_openat(2), as a count or as a "
                        "duration such as 7d. Nothing is kept by default.",
                    ),
                ),
            ),
            (
                "EXAMPLES",
                (
                    "A pool for media files with three replicas, zstd compression and a week of object history could be "
                    "defined like this.",
                    _Code(
                        """\
# /etc/strata/pools.d/media.pool
name = media
devices = label:fast-1,label:fast-2,label:fast-3
replicas = 3
sync_policy = quorum
compression = zstd
history = 7d
"""
                    ),
                ),
            ),
        ),
        "strata.conf(5), strata_sync(2), stratactl(1)",
    ),
    _ManPage(
        "strata",
        7,
        "strata",
        "overview of the Strata object store",
        "#include <strata/strata.h>\n\nLink with -lstrata.\n",
        (
            (
                "DESCRIPTION",
                (
                    "Strata is a replicated object store for a single data centre or a small group of them. It stores "
                    "objects, byte strings of up to 4 TiB, under keys in named pools, and it is meant for the data that "
                    "sits between a file system and a database: media files, build artefacts, backups and the state of "
                    "batch jobs.",
                    _Sub("Pools"),
                    "A pool is a set of devices with a replication factor and a sync policy. Every object of a pool is "
                    "stored on as many devices as the replication factor says, on different machines when the cluster "
                    "has enough of them. Pools are isolated from each other and share no blocks, so a rename or a clone "
                    "never crosses a pool boundary.",
                    _Sub("Objects and generations"),
                    "An object is a sequence of bytes with a key, a generation and a small set of extended attributes. "
                    "The generation counts the writes applied to the object. It is the basis of the conditional writes "
                    "of strata_write(2) and is more reliable than a timestamp, because the clocks of the cluster are not "
                    "assumed to agree.",
                    _Sub("Snapshots and clones"),
                    "Snapshots freeze the state of a whole pool at an instant and cost almost nothing to take, because "
                    "they share blocks with the live pool. A clone turns a snapshot into a new writable pool. Together "
                    "they give cheap backups, test copies of production data and a way to undo a bad batch job with "
                    "strata_rollback(2).",
                    _Sub("Coordination"),
                    "Locks and leases are the two tools Strata offers for coordination between clients. Locks are fast "
                    "and local to one daemon, "
                    "while leases are replicated, expire on their own and come with fencing tokens, which makes them "
                    "suitable for electing a leader among processes on different machines.",
                    _Sub("Replication"),
                    "Replication is the reason a pool survives the loss of a whole machine. Within a cluster, replicas "
                    "are written synchronously according to the sync policy of the pool. "
                    "Between clusters, replication is asynchronous and ships snapshots, so a remote copy is always "
                    "consistent but may be minutes old.",
                ),
            ),
        ),
        "strata_connect(2), strata_open(2), strata_lease(2), strata_snapshot(2), stratactl(1), stratad(8)",
    ),
    _ManPage(
        "stratad",
        8,
        "stratad",
        "the Strata storage daemon",
        "stratad [-c file] [-f] [--check-config]\n",
        (
            (
                "DESCRIPTION",
                (
                    "stratad is the storage daemon of Strata. One instance runs on every machine that contributes "
                    "devices to the cluster. It stores the blocks of the pools on its devices, serves local clients over "
                    "a Unix domain socket and talks to the other daemons of the cluster to replicate writes.",
                    "At start-up the daemon reads strata.conf(5) and the pool definitions, opens its devices and replays "
                    "its journal. While the journal is replayed the daemon accepts connections but answers every request "
                    "with EAGAIN, so clients that connect early should retry rather than give up.",
                    _Sub("Signals"),
                    _Tag("SIGHUP", "Reload the configuration and the pool definitions."),
                    _Tag(
                        "SIGTERM",
                        "Stop accepting requests, finish the ones in progress, flush every pool and exit. A clean stop "
                        "takes a few seconds, while a daemon killed with SIGKILL replays its journal at the next start.",
                    ),
                    _Tag("SIGUSR1", "Reopen the log file, for use after log rotation."),
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag("-c, --config file", "Read the configuration from file instead of /etc/strata/strata.conf."),
                    _Tag(
                        "-f, --foreground",
                        "Do not detach from the terminal, and log to standard error. Service managers such as systemd "
                        "should start the daemon with this option.",
                    ),
                    _Tag(
                        "--check-config",
                        "Parse the configuration and the pool definitions, report any error and exit without starting. "
                        "Run it before every reload in production.",
                    ),
                ),
            ),
            (
                "FILES",
                (
                    _Tag("/var/lib/strata/", "The metadata database and the journal."),
                    _Tag("/run/strata/stratad.sock", "The socket for local clients."),
                ),
            ),
        ),
        "stratactl(1), strata.conf(5), strata.pools(5), strata-scrub(8)",
    ),
    _ManPage(
        "strata-scrub",
        8,
        "strata-scrub",
        "verify the checksums of a pool",
        """\
strata-scrub [-p] [--rate limit] pool
strata-scrub --status pool
strata-scrub --cancel pool
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata-scrub reads every block of a pool on every replica and verifies it against its checksum. A "
                    "block that fails verification is rewritten from a healthy replica, so a scrub repairs silent "
                    "corruption before a second failure can make it permanent.",
                    "A scrub runs inside the daemons, not in the strata-scrub process, which only starts it and reports "
                    "on it. It continues when the command exits and survives restarts of the daemons, picking up at the "
                    "last block it verified.",
                    "Scrubbing competes with clients for device bandwidth. By default it uses at most 50 megabytes per "
                    "second per device and pauses whenever a device is more than 80 percent busy; --rate changes the "
                    "first limit, and nothing changes the second.",
                    "Run a scrub of every pool at least once a month. The default schedule of stratad(8) does this on the "
                    "first Sunday of the month at 02:00 local time, unless an administrator turned the schedule off in "
                    "strata.conf(5).",
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag("-p, --progress", "Wait for the scrub to finish and show its progress."),
                    _Tag("--rate limit", "Limit the read rate per device, for example 100M."),
                    _Tag("--status", "Report the progress of the running or the last scrub of the pool."),
                    _Tag("--cancel", "Stop the running scrub. A cancelled scrub starts from the beginning next time."),
                ),
            ),
            (
                "EXIT STATUS",
                (
                    "strata-scrub exits with 0 when the scrub was started or, with -p, completed without unrepairable "
                    "blocks; with 1 when it found blocks that no replica could repair; and with 2 for a usage error.",
                ),
            ),
        ),
        "strata-repair(8), stratad(8), strata-top(1)",
    ),
    _ManPage(
        "strata-repair",
        8,
        "strata-repair",
        "rebuild replicas after a device failure",
        """\
strata-repair [-n] [--priority level] pool device
strata-repair --replace old-device new-device
""",
        (
            (
                "DESCRIPTION",
                (
                    "strata-repair restores the replication factor of a pool after a device has failed or been removed. "
                    "It finds every block that has fewer replicas than the pool requires and copies it from a surviving "
                    "replica to another device, preferring machines that do not hold a copy yet.",
                    "To replace a failed device, install the new device, then run strata-repair with --replace, the old "
                    "device and the new one. The new device takes over the role of the old one in every pool, and the "
                    "rebuild copies exactly the blocks the old device held, which is faster than spreading them over the "
                    "remaining devices.",
                    "During a rebuild the pool stays available. Reads of blocks that lost a replica are served from the "
                    "others, and writes go to the remaining devices at the usual replication factor when enough devices "
                    "are left. strata-top(1) shows the rebuild rate and the estimated time to completion.",
                    "A device that failed with read errors should not be put back into service, even if it seems to work "
                    "after a restart. Devices that returned one checksum error are three times as likely to return "
                    "another within a month.",
                ),
            ),
            (
                "OPTIONS",
                (
                    _Tag(
                        "-n, --dry-run",
                        "Report how many blocks would be copied and how long the rebuild would take, without copying "
                        "anything.",
                    ),
                    _Tag("--replace", "Replace old-device with new-device, as described above."),
                    _Tag(
                        "--priority level",
                        "One of low, normal and high. A rebuild at high priority takes up to half of the bandwidth of "
                        "each device.",
                    ),
                ),
            ),
        ),
        "strata-scrub(8), stratactl(1), strata-top(1)",
    ),
)

_MAN_TOPICS = (
    Topic(
        "Object I/O",
        "Opening, reading, writing, syncing and closing objects through object handles and offsets.",
        ("object handle", "handle", "offset", "buffer", "durable", "strata_read", "strata_write", "end of the object"),
    ),
    Topic(
        "Snapshots and clones",
        "Point-in-time snapshots of a pool, writable clones, rollbacks and snapshot retention.",
        ("snapshot", "snapshots", "clone", "clones", "rollback", "prune", "retention"),
    ),
    Topic(
        "Coordination",
        "Locks, leases with fencing tokens and change notifications that coordinate clients.",
        ("lock", "locks", "lease", "leases", "fencing", "deadlock", "watch", "events"),
    ),
    Topic(
        "Pool administration",
        "Administering pools and devices: creating pools, quotas, scrubs, repairs and performance tools.",
        ("devices", "device", "quota", "quotas", "scrub", "rebuild", "stratactl", "replication factor"),
    ),
    Topic(
        "Replication",
        "Copying pools to a peer cluster, replicas within a cluster, replication lag and failover.",
        ("replication", "replicate", "replica", "replicas", "peer", "lag", "asynchronous"),
    ),
    Topic(
        "Configuration",
        "Configuration files of the daemon and their settings, reloads, signals and start-up options.",
        ("configuration", "strata.conf", "reload", "SIGHUP", "setting", "settings", "pool definitions", "default"),
    ),
)

_MAN_GOLDEN: tuple[tuple[str, str, str], ...] = (
    (
        "What happens to open handles and locks when I call strata_disconnect?",
        "strata_disconnect() closes every object handle still open on the pool, releases the locks and leases held "
        "through it and frees the handle.",
        "man2/strata_connect.2.txt",
    ),
    (
        "Does opening an object with strata_open lock it?",
        "Opening an object does not lock it. Two processes can open the same object for writing at the same time, and "
        "the last write to a byte range wins; use strata_lock(2) or the conditional writes of strata_write(2) when that "
        "is not acceptable.",
        "man2/strata_open.2.txt",
    ),
    (
        "How do I read an old generation of an object?",
        "strata_openat() opens the object as it was at the given generation, provided that generation is still retained "
        "by a snapshot or by the version history of the pool.",
        "man2/strata_open.2.txt",
    ),
    (
        "Does closing a handle make the written data durable?",
        "Closing a handle does not make written data durable.",
        "man2/strata_close.2.txt",
    ),
    (
        "Can several threads read from the same object handle at once?",
        "strata_pread() reads from the given offset instead and leaves the offset of the handle unchanged, which makes "
        "it safe to use from several threads on one handle.",
        "man2/strata_read.2.txt",
    ),
    (
        "How do I update an object safely without holding a lock?",
        "Read the object, compute the new content and write it back with strata_cwrite() to update it safely without "
        "holding a lock.",
        "man2/strata_write.2.txt",
    ),
    (
        "How can I tell which of two states of an object is newer?",
        "Clocks of the cluster are not assumed to agree, so compare generations, not times, to find out which of two "
        "states is newer.",
        "man2/strata_stat.2.txt",
    ),
    (
        "Do I need to call strata_sync after every write?",
        "Calling strata_sync() after every write is rarely necessary.",
        "man2/strata_sync.2.txt",
    ),
    (
        "What happens to a lock when the process holding it crashes?",
        "Locks are also released when the handle is closed and when the connection to the daemon is lost, so a crashed "
        "process never leaves a lock behind.",
        "man2/strata_lock.2.txt",
    ),
    (
        "How often should a lease be renewed?",
        "Renew at intervals of no more than a third of the ttl, so that one lost request or a slow garbage collection "
        "pause does not lose the lease.",
        "man2/strata_lease.2.txt",
    ),
    (
        "What is the cheapest way to give a test environment a copy of production data?",
        "Clones are the cheapest way to give a test environment a full copy of production data.",
        "man2/strata_clone.2.txt",
    ),
    (
        "Can I roll a pool back to a snapshot older than the latest one?",
        "By default only the most recent snapshot can be rolled back to.",
        "man2/strata_rollback.2.txt",
    ),
    (
        "Why does deleting a large object free no space?",
        "Objects referenced by a snapshot keep their blocks until the snapshot is deleted.",
        "man2/strata_unlink.2.txt",
    ),
    (
        "How do I publish an object that was written under a temporary key?",
        "If newkey already names an object, that object is replaced atomically: at every moment, a reader of newkey "
        "finds either the old or the new object.",
        "man2/strata_rename.2.txt",
    ),
    (
        "Does a watch report every single write to an object?",
        "Events are coalesced. Ten writes to one object in quick succession may be reported as a single STRATA_EV_WRITE "
        "carrying the latest generation, so a watcher must treat an event as a hint to look at the object again, not as "
        "a record of every change.",
        "man2/strata_watch.2.txt",
    ),
    (
        "Do quotas count the bytes used on disk after replication?",
        "Quotas count logical bytes, the size of the objects as a client sees them, not the space they take on disk "
        "after replication and compression.",
        "man2/strata_setquota.2.txt",
    ),
    (
        "What is the replication lag of a pool?",
        "The replication lag is the age of the newest snapshot the peer has fully received.",
        "man2/strata_replicate.2.txt",
    ),
    (
        "What does exit status 3 from stratactl mean?",
        "stratactl exits with status 0 on success, 1 when the daemon reported an error, 2 for a usage error and 3 when "
        "it could not reach the daemon at all.",
        "man1/stratactl.1.txt",
    ),
    (
        "Can a reader see a partially copied object while strata-cp runs?",
        "strata-cp writes each object under a temporary key and renames it into place when the copy is complete, so a "
        "reader of the destination never sees a partial object.",
        "man1/strata-cp.1.txt",
    ),
    (
        "Does the retention policy of strata-snap prune delete snapshots made by hand?",
        "Snapshots whose name does not start with auto_ are never pruned, so snapshots made by hand survive until "
        "someone deletes them.",
        "man1/strata-snap.1.txt",
    ),
    (
        "Why are my application latencies higher than the ones strata-top shows?",
        "The latency figures measure time spent inside the daemon.",
        "man1/strata-top.1.txt",
    ),
    (
        "Can I turn off TLS for replication traffic to a peer?",
        "A peer section needs an address and the certificate authority that signed the certificate of the peer, because "
        "replication traffic is always encrypted with TLS and there is no option to turn that off.",
        "man5/strata.conf.5.txt",
    ),
    (
        "Why does stratad answer EAGAIN right after it starts?",
        "While the journal is replayed the daemon accepts connections but answers every request with EAGAIN, so clients "
        "that connect early should retry rather than give up.",
        "man8/stratad.8.txt",
    ),
    (
        "How often should a pool be scrubbed?",
        "Run a scrub of every pool at least once a month.",
        "man8/strata-scrub.8.txt",
    ),
    (
        "How do I replace a failed device?",
        "To replace a failed device, install the new device, then run strata-repair with --replace, the old device and "
        "the new one.",
        "man8/strata-repair.8.txt",
    ),
)


def man_pages(root: Path) -> Corpus:
    """Thirty manual pages rendered to plain text (``man2/strata_open.2.txt``...); golden answers from their prose."""
    for page in _MAN_PAGES:
        _write(root, page.path, _man_text(page))
    return _corpus("man-pages", root, ["**/*.txt"], _MAN_TOPICS, _MAN_GOLDEN)


# =============================================================================================== HTML site
# The documentation website of Tidepool, a fictional managed message queue service.


@dataclass(frozen=True)
class _WebPage:
    path: str
    title: str
    layout: str  # "main": <main><article>; "article": a lone <article>; "div": only <div class="content">
    description: str
    body: str


_SITE_SECTIONS = (
    ("Get started", ("index.html", "quickstart.html")),
    (
        "Concepts",
        (
            "concepts/queues.html",
            "concepts/messages.html",
            "concepts/visibility-timeout.html",
            "concepts/topics.html",
            "concepts/dead-letter-queues.html",
        ),
    ),
    (
        "Guides",
        (
            "guides/publishing.html",
            "guides/consuming.html",
            "guides/retries.html",
            "guides/ordering.html",
            "guides/delayed-messages.html",
            "guides/deduplication.html",
        ),
    ),
    ("Security", ("security/api-keys.html", "security/access-policies.html", "security/encryption.html")),
    ("Operations", ("operations/monitoring.html", "operations/limits.html", "operations/regions.html")),
    ("Reference", ("reference/cli.html", "reference/http-api.html")),
)

_SITE_PAGES: tuple[_WebPage, ...] = (
    _WebPage(
        "index.html",
        "Tidepool documentation",
        "main",
        "Documentation for Tidepool, the managed message queue service.",
        """\
<h1>Tidepool documentation</h1>
<p>Tidepool is a managed message queue service for applications that need to hand work from one component to
another without losing it. You create queues in the console, with the <code>tp</code> command-line tool or through
the HTTP API, and Tidepool stores every message redundantly in three availability zones until a consumer
acknowledges it.</p>
<h2>Who Tidepool is for</h2>
<p>Teams use Tidepool to decouple a web front end from slow background work, to spread jobs over a fleet of workers
and to absorb bursts of traffic that a database could not take directly. If you need to replay a stream of events
from months ago, a log-based system is a better fit: Tidepool deletes a message once it has been processed.</p>
<h2>Where to start</h2>
<ul>
  <li>The <a href="/quickstart.html">quickstart</a> creates a queue and sends your first message in five minutes.</li>
  <li><a href="/concepts/queues.html">Queues</a> and <a href="/concepts/messages.html">messages</a> explain the two
  objects everything else builds on.</li>
  <li>The <a href="/guides/retries.html">retries guide</a> shows how to handle failures without duplicating
  work.</li>
</ul>
<h2>Service status and support</h2>
<p>Tidepool publishes the health of every region on its status page and announces planned maintenance there at
least seven days in advance. Customers on the Business and Enterprise plans can open a support case from the
console at any time; the first response time depends on the severity they choose.</p>
""",
    ),
    _WebPage(
        "quickstart.html",
        "Quickstart",
        "article",
        "Create a queue, send a message and receive it in five minutes.",
        """\
<h1>Quickstart</h1>
<p>This quickstart creates a queue, sends a message to it and receives the message again, using the tp
command-line tool. It takes about five minutes and stays well within the free tier.</p>
<h2>Before you begin</h2>
<p>You need a Tidepool account and an API key with the <code>queues:admin</code> permission. The console shows a
key only once, when you create it, so copy it somewhere safe before you close the dialog.</p>
<h2>Steps</h2>
<ol>
  <li>Install the CLI with <code>pip install tidepool-cli</code> or <code>brew install tidepool</code>.</li>
  <li>Store your API key with <code>tp auth login</code>.</li>
  <li>Create a queue: <code>tp queue create orders --region eu-central</code>.</li>
  <li>Send a message: <code>tp send orders '{&quot;order_id&quot;: 1042}'</code>.</li>
  <li>Receive and acknowledge it: <code>tp receive orders --ack</code>.</li>
</ol>
<pre><code class="language-shell">$ tp queue create orders --region eu-central
Created queue orders (standard) in eu-central
$ tp send orders '{&quot;order_id&quot;: 1042}'
Sent message 01HZX4T8M2 to orders
$ tp receive orders --ack
{&quot;order_id&quot;: 1042}
Acknowledged 01HZX4T8M2</code></pre>
<h2>What just happened</h2>
<p>When you sent the message, Tidepool stored it in three availability zones before it confirmed the send. The
receive command then leased the message to your terminal for thirty seconds, printed it and acknowledged it, which
deleted it from the queue for good.</p>
<h2>Cleaning up</h2>
<p>To clean up, delete the queue with <code>tp queue delete orders</code>. Deleting a queue also deletes every
message still in it, and the name cannot be reused for sixty seconds.</p>
""",
    ),
    _WebPage(
        "concepts/queues.html",
        "Queues",
        "main",
        "Standard and FIFO queues, naming rules and retention.",
        """\
<h1>Queues</h1>
<p>A queue is a named, durable buffer of messages in one region. Producers add messages to the end of the queue,
and consumers take them from the front, process them and acknowledge them. A queue has no fixed capacity: it grows
as messages arrive and shrinks as consumers acknowledge them.</p>
<h2>Queue types</h2>
<p>Every queue is either a standard queue or a FIFO queue, and the type cannot be changed after the queue is
created. Pick the type from the guarantees your consumers need, not from the throughput you expect today.</p>
<table>
  <thead><tr><th>Type</th><th>Ordering</th><th>Delivery</th><th>Throughput</th></tr></thead>
  <tbody>
    <tr><td>Standard</td><td>Best effort</td><td>At least once</td><td>Practically unlimited</td></tr>
    <tr><td>FIFO</td><td>Strict, per message group</td><td>Exactly once within the deduplication window</td>
        <td>3,000 messages per second</td></tr>
  </tbody>
</table>
<h2>Naming rules</h2>
<p>Queue names are up to 80 characters of letters, digits, hyphens and underscores, and the names of FIFO queues
must end in <code>.fifo</code>. Names are unique per account and region, so the same name can exist in
<code>eu-central</code> and <code>us-east</code> as two unrelated queues.</p>
<h2>Retention</h2>
<p>The retention period is how long Tidepool keeps a message that nobody acknowledges. It defaults to four days and
can be set between one minute and fourteen days; when it expires, the message is deleted silently, even if it was
never delivered.</p>
""",
    ),
    _WebPage(
        "concepts/messages.html",
        "Messages",
        "div",
        "The body, attributes and system properties of a message.",
        """\
<h1>Messages</h1>
<p>A message is the unit of data that travels through a queue. It consists of a body of up to 256&nbsp;KB, up to
ten attributes and a few system properties that Tidepool sets itself, such as the message ID and the time the
message was sent.</p>
<h2>Message body</h2>
<p>The body is an opaque sequence of bytes that Tidepool never parses. Most applications send JSON, but compressed
binary formats work just as well and make the size limit go further. If your payload is larger than the limit,
store it in an object store and send a reference to it instead.</p>
<h2>Attributes</h2>
<p>Attributes are typed name and value pairs that travel next to the body. Consumers can read them without decoding
the body, and subscriptions can filter on them, so put routing information such as the tenant or the event type in
attributes rather than in the body.</p>
<h3>Reserved attribute names</h3>
<p>Names starting with <code>tp.</code> are reserved for Tidepool. The service adds <code>tp.receive_count</code>,
the number of times the message has been delivered, and <code>tp.first_received_at</code> to every message it hands
to a consumer.</p>
<h2>System properties</h2>
<ul>
  <li><strong>Message ID</strong> &ndash; a unique, sortable identifier assigned when the message is accepted.</li>
  <li><strong>Sent timestamp</strong> &ndash; the time the message was accepted, in UTC.</li>
  <li><strong>Receipt handle</strong> &ndash; an opaque token that identifies one delivery of the message and is
  needed to acknowledge it.</li>
</ul>
""",
    ),
    _WebPage(
        "concepts/visibility-timeout.html",
        "Visibility timeout",
        "main",
        "How long a received message stays hidden, and how to extend it.",
        """\
<h1>Visibility timeout</h1>
<p>The visibility timeout is the period during which a received message is hidden from other consumers. It gives
the consumer that received the message time to process and acknowledge it; if the consumer does neither before
the timeout ends, the message becomes visible again and another consumer can receive it.</p>
<h2>Choosing a timeout</h2>
<p>Set the visibility timeout to a little more than the longest time your consumer needs to process one message,
including retries of calls to other services. The default is thirty seconds and the maximum is twelve hours. A
timeout that is too short leads to duplicate processing, and one that is too long delays the retry of messages
whose consumer crashed.</p>
<h2>Extending the timeout</h2>
<p>To extend the timeout of a message that is taking longer than expected, call the
<code>ChangeVisibility</code> operation with its receipt handle before the current timeout ends. Long-running
consumers usually extend the timeout in a background thread, a few seconds before it runs out, for as long as they
are still working.</p>
<pre><code class="language-python">with message.keep_alive(extend_by=60, every=45):
    render_invoice(message.body)
message.ack()</code></pre>
<h2>Acknowledging messages</h2>
<p>Acknowledging a message deletes it from the queue. Acknowledge only after the work is done and its results are
stored: a consumer that acknowledges first and then crashes loses the message for good.</p>
""",
    ),
    _WebPage(
        "concepts/topics.html",
        "Topics and subscriptions",
        "article",
        "Fan out one message to several queues or HTTPS endpoints.",
        """\
<h1>Topics and subscriptions</h1>
<p>A topic delivers a copy of every message published to it to each of its subscriptions. Use a topic when several
independent systems need to react to the same event, for example when an order is placed and billing, shipping and
analytics each need to know.</p>
<h2>Subscriptions</h2>
<p>A subscription connects a topic to a queue or to an HTTPS endpoint. Each subscription receives its own copy of
the message, so a slow or broken subscriber never holds back the others; its copies simply wait in its queue.</p>
<h2>Filter policies</h2>
<p>A filter policy lets a subscription receive only the messages whose attributes match. Filtering happens before
delivery and filtered-out messages are not billed, which makes it cheaper than discarding unwanted messages in the
consumer.</p>
<pre><code class="language-json">{&quot;event_type&quot;: [&quot;order.placed&quot;, &quot;order.cancelled&quot;],
 &quot;region&quot;: [{&quot;prefix&quot;: &quot;eu-&quot;}]}</code></pre>
<h2>HTTPS endpoints</h2>
<p>Deliveries to an HTTPS endpoint are signed with the signing secret of the subscription, and the endpoint must
answer with a 2xx status within ten seconds. Failed deliveries are retried with exponential backoff for up to
twenty-three hours before the message moves to the dead-letter queue of the subscription, if it has one.</p>
""",
    ),
    _WebPage(
        "concepts/dead-letter-queues.html",
        "Dead-letter queues",
        "main",
        "Set aside messages that keep failing, inspect them and send them back.",
        """\
<h1>Dead-letter queues</h1>
<p>A dead-letter queue is an ordinary queue that receives the messages another queue could not get processed.
Without one, a message that makes its consumer crash every time is delivered again and again until its retention
period ends, and it uses consumer capacity the whole time.</p>
<h2>Redrive policy</h2>
<p>The redrive policy of a queue names its dead-letter queue and the maximum receive count. When a message has
been received that many times without being acknowledged, Tidepool moves it to the dead-letter queue instead of
delivering it again. A maximum receive count of five is a sensible start for most workloads.</p>
<pre><code class="language-shell">$ tp queue update orders --dead-letter-queue orders-dlq --max-receives 5</code></pre>
<h2>Inspecting dead letters</h2>
<p>Messages in a dead-letter queue keep their body, their attributes and their original message ID, and Tidepool
adds the attribute <code>tp.dead_letter_reason</code>. Receive them like any other message to see why they failed,
but do not acknowledge them until you have decided what to do with them.</p>
<h2>Moving messages back</h2>
<p>To send dead letters back to their source queue after a fix, start a redrive from the console or run
<code>tp dlq redrive orders-dlq</code>. The redrive moves messages at up to 500 per second by default, so that a
freshly fixed consumer is not flooded.</p>
""",
    ),
    _WebPage(
        "guides/publishing.html",
        "Publishing messages",
        "div",
        "Send messages one by one or in batches, safely retried with idempotency keys.",
        """\
<h1>Publishing messages</h1>
<p>Publishing is the act of sending a message to a queue or a topic. A publish call returns only after Tidepool
has stored the message durably, so a successful response means the message will be delivered even if a whole
availability zone fails a moment later.</p>
<h2>Sending in batches</h2>
<p>To publish many small messages efficiently, send them in batches of up to ten messages or 256&nbsp;KB per
request. A batch costs one request instead of ten and cuts latency for the producer, but each message in it
succeeds or fails on its own, so always check the per-message results in the response.</p>
<pre><code class="language-python">from tidepool import Client

client = Client.from_env()
results = client.send_batch(&quot;orders&quot;, [{&quot;body&quot;: order.to_json()} for order in pending])
failed = [r for r in results if not r.ok]</code></pre>
<h2>Idempotency keys</h2>
<p>An idempotency key makes a retried publish safe. When a producer sends the same key twice within five minutes,
Tidepool accepts the second request but stores the message only once, which protects you from duplicates when a
network error hides whether the first attempt succeeded.</p>
<h2>Producer best practices</h2>
<ul>
  <li>Reuse one client per process, because clients keep connections open and refresh credentials themselves.</li>
  <li>Set a timeout on every publish call and retry with an idempotency key.</li>
  <li>Publish after the database transaction that created the event has committed, never before.</li>
</ul>
""",
    ),
    _WebPage(
        "guides/consuming.html",
        "Consuming messages",
        "main",
        "Receive messages with long polling, prefetching and the right scaling signal.",
        """\
<h1>Consuming messages</h1>
<p>A consumer is any process that receives messages from a queue, processes them and acknowledges them. Tidepool
does not push messages to queue consumers. Consumers ask for messages, which lets each one take only as much work
as it can handle.</p>
<h2>Long polling</h2>
<p>Long polling is the recommended way to receive messages. A receive request with a wait time of up to twenty
seconds returns as soon as a message is available, or empty when the wait time ends, which avoids both busy loops
of empty responses and the latency of sleeping between polls.</p>
<h2>Prefetching</h2>
<p>The SDKs prefetch messages in the background to keep a worker busy. Each prefetched message is already received
and its visibility timeout is already running, so keep the prefetch count small for slow handlers, or messages will
time out while they wait in the local buffer.</p>
<h2>Scaling consumers</h2>
<p>To scale consumers, watch the age of the oldest message rather than the number of messages in the queue. A
queue of a million messages that are all a few seconds old is healthy; a queue of ten messages that are an hour old
is not.</p>
<pre><code class="language-python">for message in client.consume(&quot;orders&quot;, wait_seconds=20, prefetch=10):
    handle(message.body)
    message.ack()</code></pre>
""",
    ),
    _WebPage(
        "guides/retries.html",
        "Retries and backoff",
        "article",
        "Retry failed messages with exponential backoff and idempotent handlers.",
        """\
<h1>Retries and backoff</h1>
<p>Failures are normal in a distributed system, and Tidepool is designed around the assumption that some
deliveries will fail. A message that is not acknowledged comes back after its visibility timeout, so the simplest
retry strategy is to do nothing at all and let it reappear.</p>
<h2>Exponential backoff</h2>
<p>Immediate retries make an overloaded downstream service worse. To back off exponentially, change the visibility
timeout of a failed message to a delay that doubles with every attempt, using the receive count that Tidepool
attaches to the message to compute it.</p>
<pre><code class="language-python">delay = min(30 * 2 ** (message.receive_count - 1), 3600)
message.change_visibility(delay)</code></pre>
<h2>Transient and permanent errors</h2>
<p>Not every error deserves a retry. A timeout or a 503 from a dependency is transient and will probably succeed
later, while a message that fails validation will fail the same way forever; send such messages straight to the
dead-letter queue instead of burning retries on them.</p>
<h2>Making handlers idempotent</h2>
<p>Because a message can be delivered more than once, every handler must be safe to run twice on the same message.
The usual technique is to record the message ID in the same database transaction as the work, and to skip
messages whose ID is already recorded.</p>
""",
    ),
    _WebPage(
        "guides/ordering.html",
        "Message ordering",
        "main",
        "Ordering guarantees of standard and FIFO queues, and message groups.",
        """\
<h1>Message ordering</h1>
<p>Standard queues try to deliver messages in the order they were sent but do not promise it: with many producers
and consumers, a later message can overtake an earlier one. If the order matters to your application, use a FIFO
queue and message groups.</p>
<h2>Message groups</h2>
<p>A message group is a set of messages in a FIFO queue that share a group ID. Tidepool delivers the messages of
one group strictly in order and never to two consumers at once, while messages of different groups are processed
in parallel. Use something like the customer or account ID as the group ID, so that ordering holds where it
matters and the queue still scales.</p>
<h2>Head-of-line blocking</h2>
<p>While a message of a group is in flight, the rest of the group waits. A message that keeps failing therefore
blocks its whole group until it reaches the maximum receive count and moves to the dead-letter queue, so keep that
count low on FIFO queues.</p>
""",
    ),
    _WebPage(
        "guides/delayed-messages.html",
        "Delayed messages",
        "div",
        "Delay delivery by up to fifteen minutes, or schedule messages further ahead.",
        """\
<h1>Delayed messages</h1>
<p>A delayed message is stored immediately but becomes visible to consumers only after a delay that you choose,
from one second to fifteen minutes. Delays are useful for reminders, for rate limiting and for giving another
system time to catch up before a message is processed.</p>
<h2>Per-message delays</h2>
<p>To delay a single message, set the <code>delay_seconds</code> parameter when you publish it. A per-message delay
overrides the default delay of the queue, and on FIFO queues it applies to the whole message group.</p>
<h2>Longer delays</h2>
<p>Delays longer than fifteen minutes need a different approach. Schedule the message with the scheduler, which
stores it until the requested time, up to one year ahead, and then publishes it to the queue like any producer
would.</p>
<pre><code class="language-shell">$ tp schedule create --queue reminders --at 2024-12-01T09:00:00Z --body '{&quot;invoice&quot;: &quot;INV-2231&quot;}'</code></pre>
<h2>Delays and billing</h2>
<p>A delayed message is billed once, when it is published, no matter how long it waits. Scheduled messages are
billed when the scheduler publishes them, plus a small monthly storage charge for schedules that are more than
thirty days ahead.</p>
""",
    ),
    _WebPage(
        "guides/deduplication.html",
        "Deduplication",
        "main",
        "How FIFO queues remove duplicate messages, and what that does not guarantee.",
        """\
<h1>Deduplication</h1>
<p>Deduplication removes copies of a message that a producer sent more than once. FIFO queues deduplicate within a
five-minute window, either by a deduplication ID that the producer sets or by a hash of the message body when
content-based deduplication is turned on.</p>
<h2>Content-based deduplication</h2>
<p>Content-based deduplication is convenient when identical bodies really are duplicates. It is the wrong choice
when two legitimate messages can have the same body, such as two identical orders from the same customer, because
the second one would be dropped silently.</p>
<h2>Exactly-once processing</h2>
<p>Deduplication on the queue gives exactly-once delivery into the queue, not exactly-once processing. A consumer
can still crash after doing the work and before acknowledging, so handlers must be idempotent even on FIFO
queues.</p>
""",
    ),
    _WebPage(
        "security/api-keys.html",
        "API keys",
        "article",
        "Create, scope, rotate and revoke API keys.",
        """\
<h1>API keys</h1>
<p>An API key identifies a client application to Tidepool and carries the permissions of that application. Every
request to the HTTP API must be signed with a key, and the SDKs and the tp tool read the key from the
<code>TIDEPOOL_API_KEY</code> environment variable.</p>
<h2>Creating keys</h2>
<p>Create a separate key for every application and environment, and give each key only the permissions it needs. A
key for a producer needs <code>messages:send</code> on its queues and nothing else; it should not be able to read or
delete messages.</p>
<h2>Rotating keys</h2>
<p>To rotate an API key without downtime, create a second key with the same permissions, deploy it to your
application, confirm in the console that the old key is no longer used, and then revoke the old key. Every
application can have two active keys for exactly this reason.</p>
<h2>If a key leaks</h2>
<p>Revoke a leaked key immediately from the console or with <code>tp keys revoke</code>; revocation takes effect in
all regions within a minute. Then review the audit log for requests the key made after the leak, because revoking
a key does not undo what was done with it.</p>
""",
    ),
    _WebPage(
        "security/access-policies.html",
        "Access policies",
        "main",
        "Resource policies that decide which principals may act on a queue or topic.",
        """\
<h1>Access policies</h1>
<p>An access policy is a JSON document attached to a queue or a topic that says which principals may perform which
actions on it. Policies complement the permissions of API keys: a request succeeds only if both the key and the
policy of the resource allow it.</p>
<h2>Policy structure</h2>
<p>A policy contains a list of statements. Each statement has an effect, allow or deny, a list of principals, a
list of actions and optional conditions. An explicit deny always wins over an allow, wherever the two come
from.</p>
<pre><code class="language-json">{
  &quot;statements&quot;: [
    {&quot;effect&quot;: &quot;allow&quot;, &quot;principals&quot;: [&quot;account:7731&quot;], &quot;actions&quot;: [&quot;messages:send&quot;]},
    {&quot;effect&quot;: &quot;deny&quot;, &quot;principals&quot;: [&quot;*&quot;], &quot;actions&quot;: [&quot;queue:delete&quot;]}
  ]
}</code></pre>
<h2>Cross-account access</h2>
<p>To let another Tidepool account publish to your queue, add a statement that allows
<code>messages:send</code> with that account as principal. The other account still needs a key with the same
permission on its side, so access always requires the consent of both accounts.</p>
<h2>Conditions</h2>
<p>Conditions restrict a statement further, for example to requests from a private network, to messages that carry
a certain attribute or to requests made over TLS 1.3. Conditions are evaluated on every request and add no
noticeable latency.</p>
""",
    ),
    _WebPage(
        "security/encryption.html",
        "Encryption",
        "div",
        "Encryption at rest and in transit, and customer-managed keys.",
        """\
<h1>Encryption</h1>
<p>Tidepool encrypts every message at rest and in transit, and there is no way to turn either off. Messages are
encrypted with AES-256 before they are written to disk, and all connections to the API require TLS 1.2 or
later.</p>
<h2>Customer-managed keys</h2>
<p>By default, Tidepool manages the encryption keys. Enterprise customers can instead use a customer-managed key
from their own key management service, which lets them revoke access to the data of a queue at any moment by
disabling the key.</p>
<p>If a customer-managed key is disabled or deleted, the queue becomes unusable: publishes and receives fail, and
messages that are already stored cannot be read until the key is enabled again. Messages are not deleted, so
enabling the key again restores the queue.</p>
<h2>What is not encrypted</h2>
<p>Queue names, attribute names and the metrics of a queue are stored in plain text, so that the console and the
monitoring system can show them. Do not put personal data or secrets into queue names or attribute names.</p>
""",
    ),
    _WebPage(
        "operations/monitoring.html",
        "Monitoring queues",
        "main",
        "Queue metrics, the alert that matters most, and exporting to Prometheus.",
        """\
<h1>Monitoring queues</h1>
<p>Every queue publishes metrics once a minute, free of charge, and Tidepool keeps them for fifteen months. You can
view them in the console, query them through the metrics API or export them to your own monitoring system through
the Prometheus endpoint.</p>
<h2>Key metrics</h2>
<table>
  <tr><th>Metric</th><th>Meaning</th><th>Alert when</th></tr>
  <tr><td>oldest_message_age_seconds</td><td>Age of the oldest message not yet acknowledged</td>
      <td>It grows steadily for more than ten minutes</td></tr>
  <tr><td>messages_visible</td><td>Messages waiting to be received</td><td>Rarely useful alone</td></tr>
  <tr><td>messages_in_flight</td><td>Messages received but not yet acknowledged</td>
      <td>It approaches the in-flight limit</td></tr>
  <tr><td>dead_letters_total</td><td>Messages moved to the dead-letter queue</td><td>It increases at all</td></tr>
</table>
<h2>Alerting on queue health</h2>
<p>The most useful alert for a queue is on the age of its oldest message. It catches every kind of trouble in one
number: consumers that crashed, consumers that are too slow and consumers that are stuck on a poison message.</p>
<h2>Exporting metrics</h2>
<p>To export metrics to Prometheus, enable the metrics endpoint in the account settings and scrape it with an API
key that has the <code>metrics:read</code> permission. The endpoint serves the metrics of every queue in the region
in the standard text format.</p>
""",
    ),
    _WebPage(
        "operations/limits.html",
        "Quotas and limits",
        "article",
        "Fixed limits, adjustable quotas and how to raise them.",
        """\
<h1>Quotas and limits</h1>
<p>Limits protect the service and your bill from runaway clients. Some are fixed by the design of Tidepool; others
are quotas that start at a default value and can be raised by opening a support case.</p>
<h2>Message limits</h2>
<table>
  <thead><tr><th>Limit</th><th>Value</th><th>Adjustable</th></tr></thead>
  <tbody>
    <tr><td>Message size</td><td>256 KB</td><td>No</td></tr>
    <tr><td>Attributes per message</td><td>10</td><td>No</td></tr>
    <tr><td>Retention period</td><td>1 minute to 14 days</td><td>Per queue</td></tr>
    <tr><td>Delay</td><td>0 to 15 minutes</td><td>Per message</td></tr>
    <tr><td>Messages in flight, standard queue</td><td>120,000</td><td>Yes</td></tr>
    <tr><td>Messages in flight, FIFO queue</td><td>20,000</td><td>Yes</td></tr>
  </tbody>
</table>
<h2>Account quotas</h2>
<p>A new account can create up to 1,000 queues and 100 topics per region and send up to 3,000 requests per second
per region. Requests above the quota are rejected with HTTP status 429 and a Retry-After header that says how long
to wait.</p>
<h2>Raising a quota</h2>
<p>To raise a quota, open a support case from the console with the quota name, the region, the new value and a
short description of the workload. Most increases are approved within one business day, and increases of more than
ten times the default need a short review with a solutions engineer.</p>
""",
    ),
    _WebPage(
        "operations/regions.html",
        "Regions and failover",
        "main",
        "Where Tidepool runs, cross-region replication and failing over.",
        """\
<h1>Regions and failover</h1>
<p>Tidepool runs in independent regions, and a queue lives in exactly one of them. Within its region, a queue
survives the loss of an availability zone without losing messages or becoming unavailable; across regions nothing
is shared, so an outage of one region does not affect the others.</p>
<h2>Available regions</h2>
<ul>
  <li>eu-central (Frankfurt)</li>
  <li>eu-west (Dublin)</li>
  <li>us-east (Virginia)</li>
  <li>us-west (Oregon)</li>
  <li>ap-southeast (Singapore)</li>
</ul>
<h2>Cross-region replication</h2>
<p>Cross-region replication copies every message published to a queue into a replica queue in a second region,
usually within a second. The replica cannot be consumed while replication is active; it exists so that you can
fail over if the primary region becomes unavailable.</p>
<h2>Failing over</h2>
<p>To fail over to the replica region, promote the replica queue in the console or with
<code>tp queue promote</code> and point your producers and consumers at the new region. Messages published in the
last seconds before the outage may not have been replicated yet, and messages that were in flight in the old region
may be delivered a second time.</p>
""",
    ),
    _WebPage(
        "reference/cli.html",
        "tp command reference",
        "article",
        "Commands, options and exit codes of the tp command-line tool.",
        """\
<h1>tp command reference</h1>
<p>The tp command-line tool manages queues, topics and keys, and it can send and receive messages for testing. It
reads its credentials from the <code>TIDEPOOL_API_KEY</code> environment variable or from the profile that
<code>tp auth login</code> writes, and every command accepts <code>--region</code> and
<code>--output json</code>.</p>
<h2>Commands</h2>
<dl>
  <dt><code>tp queue create NAME</code></dt>
  <dd>Creates a queue. Add <code>--fifo</code> for a FIFO queue and <code>--retention</code> to change the
  retention period from its default of four days.</dd>
  <dt><code>tp queue purge NAME</code></dt>
  <dd>Deletes every message in the queue but keeps the queue and its settings. A purge cannot be undone and takes
  up to sixty seconds to complete.</dd>
  <dt><code>tp send QUEUE BODY</code></dt>
  <dd>Publishes one message. The body is read from standard input when it is a single dash.</dd>
  <dt><code>tp receive QUEUE</code></dt>
  <dd>Receives up to ten messages with long polling and prints them. Messages are not acknowledged unless
  <code>--ack</code> is given, so they reappear after their visibility timeout.</dd>
  <dt><code>tp dlq redrive QUEUE</code></dt>
  <dd>Moves the messages of a dead-letter queue back to their source queues.</dd>
  <dt><code>tp keys revoke KEY_ID</code></dt>
  <dd>Revokes an API key in every region.</dd>
</dl>
<h2>Exit codes</h2>
<p>The tool exits with 0 on success, 1 when the API returned an error, 2 when the arguments were invalid and 3 when
a request was throttled and still failed after the built-in retries. Scripts should treat 3 as a signal to slow
down rather than as a failure of the command.</p>
""",
    ),
    _WebPage(
        "reference/http-api.html",
        "HTTP API reference",
        "div",
        "Endpoints, errors and pagination of the Tidepool HTTP API.",
        """\
<h1>HTTP API reference</h1>
<p>The HTTP API is the interface that every SDK and the tp tool are built on. It accepts JSON over HTTPS at a
regional endpoint such as <code>https://eu-central.api.tidepool.example</code>, and every request is authenticated
with an API key in the Authorization header.</p>
<h2>Endpoints</h2>
<table>
  <tr><th>Method</th><th>Path</th><th>Operation</th></tr>
  <tr><td>POST</td><td>/v1/queues</td><td>Create a queue</td></tr>
  <tr><td>DELETE</td><td>/v1/queues/{name}</td><td>Delete a queue</td></tr>
  <tr><td>POST</td><td>/v1/queues/{name}/messages</td><td>Send a message or a batch</td></tr>
  <tr><td>GET</td><td>/v1/queues/{name}/messages</td><td>Receive messages with long polling</td></tr>
  <tr><td>DELETE</td><td>/v1/queues/{name}/messages/{receipt}</td><td>Acknowledge a message</td></tr>
  <tr><td>PATCH</td><td>/v1/queues/{name}/messages/{receipt}</td><td>Change the visibility timeout</td></tr>
</table>
<h2>Errors</h2>
<p>Errors come back as a JSON object with a machine-readable <code>code</code> and a human-readable
<code>message</code>. Retry errors with status 429 and 5xx after the delay in the Retry-After header, or with
exponential backoff when the header is missing; never retry other 4xx errors without changing the request.</p>
<h2>Pagination</h2>
<p>List operations return at most 100 items, plus a <code>next_token</code> when there are more. Pass the token back
unchanged to get the next page; tokens expire after one hour.</p>
<pre><code class="language-shell">curl -H &quot;Authorization: Bearer $TIDEPOOL_API_KEY&quot; \\
  &quot;https://eu-central.api.tidepool.example/v1/queues?limit=100&quot;</code></pre>
""",
    ),
)

_SITE_HEAD = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{description}">
<meta property="og:site_name" content="Tidepool Docs">
<title>{title} | Tidepool Docs</title>
<link rel="stylesheet" href="/assets/site.css">
<style>
  .cookie-banner {{ position: fixed; bottom: 0; left: 0; right: 0; padding: 1rem; background: #0b2239; color: #fff; }}
  .sidebar a.active {{ font-weight: 600; border-left: 3px solid #1a9c8c; }}
  pre code {{ font-size: 0.9em; }}
</style>
<script async src="/assets/analytics.js" data-site="docs"></script>
</head>
<body>
<div id="cookie-banner" class="cookie-banner" role="dialog" aria-label="Cookie consent">
  <p>We use cookies to remember your preferences and to understand how our documentation is used.
  Read our <a href="/legal/cookies.html">cookie policy</a> to learn more.</p>
  <button type="button" class="accept">Accept all</button>
  <button type="button" class="reject">Only necessary cookies</button>
</div>
<header class="site-header">
  <a class="logo" href="/index.html">Tidepool Docs</a>
  <form class="search" action="/search.html" role="search">
    <input type="search" name="q" placeholder="Search the docs" aria-label="Search">
  </form>
  <a class="console-link" href="https://console.tidepool.example/">Open the console &rarr;</a>
</header>
<nav class="top-nav" aria-label="Main">
  <ul>
    <li><a href="/index.html">Home</a></li>
    <li><a href="/quickstart.html">Quickstart</a></li>
    <li><a href="/concepts/queues.html">Concepts</a></li>
    <li><a href="/guides/publishing.html">Guides</a></li>
    <li><a href="/security/api-keys.html">Security</a></li>
    <li><a href="/reference/http-api.html">Reference</a></li>
    <li><a href="/pricing.html">Pricing</a></li>
  </ul>
</nav>
<div class="layout">
"""

_SITE_FOOT = """\
</div>
<footer class="site-footer">
  <div class="feedback">Was this page helpful? <button type="button">Yes</button> <button type="button">No</button></div>
  <p>&copy; 2024 Tidepool Systems, Inc. All rights reserved. Tidepool is a registered trademark.</p>
  <ul>
    <li><a href="/legal/privacy.html">Privacy</a></li>
    <li><a href="/legal/terms.html">Terms of service</a></li>
    <li><a href="https://status.tidepool.example/">Service status</a></li>
    <li><a href="/changelog.html">Changelog</a></li>
  </ul>
</footer>
<script>
  document.querySelectorAll('.cookie-banner button').forEach(function (button) {
    button.addEventListener('click', function () {
      localStorage.setItem('cookie-consent', button.className);
      document.getElementById('cookie-banner').remove();
    });
  });
</script>
</body>
</html>
"""


def _sidebar(current: str, titles: dict[str, str]) -> str:
    items = []
    for section, paths in _SITE_SECTIONS:
        active = ' class="active"'
        links = "".join(f'<li><a href="/{p}"{active if p == current else ""}>{titles[p]}</a></li>' for p in paths)
        items.append(f"  <h4>{section}</h4>\n  <ul>{links}</ul>")
    return '<aside class="sidebar" aria-label="Documentation">\n' + "\n".join(items) + "\n</aside>\n"


def _pager(current: str, order: list[str], titles: dict[str, str]) -> str:
    i = order.index(current)
    links = []
    if i > 0:
        links.append(f'<a class="prev" href="/{order[i - 1]}">&larr; {titles[order[i - 1]]}</a>')
    if i + 1 < len(order):
        links.append(f'<a class="next" href="/{order[i + 1]}">{titles[order[i + 1]]} &rarr;</a>')
    return '<div class="pagination">' + " ".join(links) + "</div>\n"


def _site_html(page: _WebPage, titles: dict[str, str], order: list[str]) -> str:
    crumbs = f'<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/index.html">Docs</a> &rsaquo; {titles[page.path]}</nav>\n'
    edit = f'<p class="edit-link"><a href="https://github.com/tidepool-example/docs/edit/main/{page.path}">Edit this page</a></p>\n'
    inner = page.body + _pager(page.path, order, titles)
    if page.layout == "main":
        content = f'<main id="content">\n{crumbs}<article class="doc">\n{inner}</article>\n</main>\n'
    elif page.layout == "article":
        content = f'<article class="doc" id="content">\n{crumbs}{inner}</article>\n'
    else:
        content = f'<div class="content">\n{inner}</div>\n'
    head = _SITE_HEAD.format(title=titles[page.path], description=page.description)
    return head + _sidebar(page.path, titles) + content + edit + _SITE_FOOT


_SITE_TOPICS = (
    Topic(
        "Publishing",
        "Sending messages to queues and topics: batches, idempotency keys and producers.",
        ("publish", "publishing", "producer", "producers", "batch", "batches", "idempotency key", "send"),
    ),
    Topic(
        "Consuming",
        "Receiving, processing and acknowledging messages: long polling, prefetching and scaling consumers.",
        ("consumer", "consumers", "receive", "acknowledge", "acknowledged", "long polling", "prefetch"),
    ),
    Topic(
        "Delivery guarantees",
        "What happens when processing fails: retries, backoff, dead-letter queues, ordering and deduplication.",
        ("retry", "retries", "backoff", "dead-letter", "redrive", "ordering", "deduplication", "exactly once"),
    ),
    Topic(
        "Security",
        "Protecting queues and data: API keys, access policies, permissions and encryption.",
        ("API key", "API keys", "access policy", "permission", "permissions", "encryption", "TLS", "principal"),
    ),
    Topic(
        "Operations",
        "Running Tidepool in production: metrics, alerts, quotas, limits, regions and failover.",
        ("metrics", "alert", "quota", "quotas", "limits", "region", "regions", "failover"),
    ),
    Topic(
        "Queue configuration",
        "Settings of a queue: queue types, FIFO, retention period, visibility timeout and delays.",
        ("FIFO", "standard queue", "retention", "visibility timeout", "delay", "message group", "queue types"),
    ),
)

_SITE_GOLDEN: tuple[tuple[str, str, str], ...] = (
    (
        "When is Tidepool not the right tool?",
        "If you need to replay a stream of events from months ago, a log-based system is a better fit: Tidepool deletes "
        "a message once it has been processed.",
        "index.html",
    ),
    (
        "How do I clean up after the quickstart?",
        "To clean up, delete the queue with tp queue delete orders.",
        "quickstart.html",
    ),
    (
        "Can I turn a standard queue into a FIFO queue later?",
        "Every queue is either a standard queue or a FIFO queue, and the type cannot be changed after the queue is "
        "created.",
        "concepts/queues.html",
    ),
    (
        "How long does Tidepool keep messages that nobody acknowledges?",
        "The retention period is how long Tidepool keeps a message that nobody acknowledges. It defaults to four days "
        "and can be set between one minute and fourteen days; when it expires, the message is deleted silently, even if "
        "it was never delivered.",
        "concepts/queues.html",
    ),
    (
        "What should I do if my message payload is bigger than the size limit?",
        "If your payload is larger than the limit, store it in an object store and send a reference to it instead.",
        "concepts/messages.html",
    ),
    (
        "How do I extend the visibility timeout of a message that takes long to process?",
        "To extend the timeout of a message that is taking longer than expected, call the ChangeVisibility operation "
        "with its receipt handle before the current timeout ends.",
        "concepts/visibility-timeout.html",
    ),
    (
        "When should a consumer acknowledge a message?",
        "Acknowledge only after the work is done and its results are stored: a consumer that acknowledges first and then "
        "crashes loses the message for good.",
        "concepts/visibility-timeout.html",
    ),
    (
        "Is it cheaper to filter messages in the subscription or in the consumer?",
        "Filtering happens before delivery and filtered-out messages are not billed, which makes it cheaper than "
        "discarding unwanted messages in the consumer.",
        "concepts/topics.html",
    ),
    (
        "What maximum receive count should I use for a dead-letter queue?",
        "A maximum receive count of five is a sensible start for most workloads.",
        "concepts/dead-letter-queues.html",
    ),
    (
        "How do I move messages from a dead-letter queue back to the source queue?",
        "To send dead letters back to their source queue after a fix, start a redrive from the console or run tp dlq "
        "redrive orders-dlq.",
        "concepts/dead-letter-queues.html",
    ),
    (
        "How do I publish many small messages efficiently?",
        "To publish many small messages efficiently, send them in batches of up to ten messages or 256 KB per request.",
        "guides/publishing.html",
    ),
    (
        "How can I retry a publish without creating duplicates?",
        "An idempotency key makes a retried publish safe.",
        "guides/publishing.html",
    ),
    (
        "What metric should I watch to decide when to add consumers?",
        "To scale consumers, watch the age of the oldest message rather than the number of messages in the queue.",
        "guides/consuming.html",
    ),
    (
        "How do I implement exponential backoff for failed messages?",
        "To back off exponentially, change the visibility timeout of a failed message to a delay that doubles with every "
        "attempt, using the receive count that Tidepool attaches to the message to compute it.",
        "guides/retries.html",
    ),
    (
        "Do standard queues deliver messages in the order they were sent?",
        "Standard queues try to deliver messages in the order they were sent but do not promise it: with many producers "
        "and consumers, a later message can overtake an earlier one.",
        "guides/ordering.html",
    ),
    (
        "How can I delay a message by more than fifteen minutes?",
        "Delays longer than fifteen minutes need a different approach. Schedule the message with the scheduler, which "
        "stores it until the requested time, up to one year ahead, and then publishes it to the queue like any producer "
        "would.",
        "guides/delayed-messages.html",
    ),
    (
        "Does deduplication give me exactly-once processing?",
        "Deduplication on the queue gives exactly-once delivery into the queue, not exactly-once processing.",
        "guides/deduplication.html",
    ),
    (
        "How do I rotate an API key without downtime?",
        "To rotate an API key without downtime, create a second key with the same permissions, deploy it to your "
        "application, confirm in the console that the old key is no longer used, and then revoke the old key.",
        "security/api-keys.html",
    ),
    (
        "If a policy both allows and denies an action, which one wins?",
        "An explicit deny always wins over an allow, wherever the two come from.",
        "security/access-policies.html",
    ),
    (
        "What happens to a queue if its customer-managed key is disabled?",
        "If a customer-managed key is disabled or deleted, the queue becomes unusable: publishes and receives fail, and "
        "messages that are already stored cannot be read until the key is enabled again.",
        "security/encryption.html",
    ),
    (
        "What is the most useful alert to set on a queue?",
        "The most useful alert for a queue is on the age of its oldest message.",
        "operations/monitoring.html",
    ),
    (
        "How do I get a quota raised?",
        "To raise a quota, open a support case from the console with the quota name, the region, the new value and a "
        "short description of the workload.",
        "operations/limits.html",
    ),
    (
        "How do I fail over a queue to another region?",
        "To fail over to the replica region, promote the replica queue in the console or with tp queue promote and "
        "point your producers and consumers at the new region.",
        "operations/regions.html",
    ),
    (
        "Does purging a queue delete the queue itself?",
        "Deletes every message in the queue but keeps the queue and its settings.",
        "reference/cli.html",
    ),
    (
        "Which HTTP API errors should I retry?",
        "Retry errors with status 429 and 5xx after the delay in the Retry-After header, or with exponential backoff "
        "when the header is missing; never retry other 4xx errors without changing the request.",
        "reference/http-api.html",
    ),
)


def html_site(root: Path) -> Corpus:
    """A 21-page documentation website, every page in full site boilerplate; golden answers from the main content."""
    titles = {p.path: p.title for p in _SITE_PAGES}
    order = [p for _, paths in _SITE_SECTIONS for p in paths]
    for page in _SITE_PAGES:
        _write(root, page.path, _site_html(page, titles, order))
    return _corpus("html-site", root, ["**/*.html"], _SITE_TOPICS, _SITE_GOLDEN)


# =============================================================================================== PDF manual
# Documents of the Halden HX-40, a fictional backup appliance: operator manual, release notes, quick start guide.


@dataclass(frozen=True)
class _PdfDoc:
    path: str
    title: str
    subtitle: str
    running_header: str
    pages: tuple[tuple[str | Heading | NumberedList, ...], ...]  # a str is a paragraph


_PDF_AUTHOR = "Halden Systems GmbH, Technical Documentation"

_MANUAL = _PdfDoc(
    "HX-40_operator_manual.pdf",
    "Halden HX-40 Backup Appliance",
    "Operator Manual - document HX40-OM-EN, revision 7, for HaldenOS 5.2",
    "Halden HX-40 Operator Manual",
    (
        (
            Heading("About this manual"),
            "This manual describes how to install, configure, operate and maintain the Halden HX-40 backup appliance. "
            "It is written for the system administrators who rack the appliance, connect it to the network and look "
            "after it day to day, and it assumes familiarity with basic networking and with the systems being backed up.",
            "Each chapter begins with the task it covers and ends with the checks that confirm the task was successful. "
            "Warnings mark actions that can injure people or damage equipment; cautions mark actions that can lose data. "
            "Read both before you start work on a running appliance.",
            "The HX-40 runs HaldenOS, the appliance operating system. Screens and commands in this manual match "
            "HaldenOS 5.2; earlier releases may show slightly different menus, and the release notes list the "
            "differences.",
        ),
        (
            Heading("1 Safety"),
            "The HX-40 is a 2U rack-mounted device that weighs 24 kilograms when fully populated with disks. Two people "
            "are needed to lift it into the rack, and the rails must be installed and locked before the appliance is "
            "placed on them.",
            "Warning: The appliance must be connected to a grounded power outlet. Both power supplies carry hazardous "
            "voltage whenever a power cord is plugged in, even when the front power button is off; unplug both cords "
            "before you open the top cover.",
            "Caution: Disk drives are sensitive to electrostatic discharge. Wear an antistatic wrist strap connected to "
            "the chassis when you handle drives or memory modules, and keep replacement parts in their antistatic bags "
            "until the moment you install them.",
            Heading("1.1 Operating environment", 2),
            "Operate the appliance at an ambient temperature between 10 and 35 degrees Celsius and a relative humidity "
            "between 20 and 80 percent, without condensation. Air flows from the front to the back of the chassis, so "
            "leave at least 10 centimetres free behind the appliance and never place it behind a closed glass door.",
        ),
        (
            Heading("2 Installation"),
            Heading("2.1 Package contents", 2),
            "Before you begin the installation, check that the package contains everything listed below. Report missing "
            "or damaged parts to your reseller within fourteen days of delivery; the carton and the packing foam are "
            "needed if the appliance must be returned.",
            NumberedList(
                (
                    "The HX-40 appliance with twelve disk carriers installed.",
                    "A pair of sliding rails with mounting screws.",
                    "Two power cords for your region.",
                    "A serial console cable with a USB adapter.",
                    "The printed quick start guide and the warranty card.",
                )
            ),
            Heading("2.2 Mounting the appliance in a rack", 2),
            "To mount the appliance, attach the inner rails to the sides of the chassis, fit the outer rails into the "
            "rack at the same height on the front and rear posts, and slide the chassis onto them until both latches "
            "click. Secure the front ears with the two thumbscrews so that the appliance cannot slide out when the rack "
            "is moved.",
        ),
        (
            Heading("2.3 Connecting power and network", 2),
            "Connect each power supply to a different power distribution unit, ideally fed from separate circuits. The "
            "appliance runs on one supply, but only with both connected does it survive the failure of a circuit "
            "without interrupting backups.",
            "The rear panel has two 25-gigabit SFP28 ports for data and one 1-gigabit copper port marked MGMT for "
            "management. Connect the management port to your administration network and at least one data port to "
            "the network that the protected systems use for backup traffic.",
            "Press the power button on the front panel. The status LED blinks blue for about three minutes while "
            "HaldenOS starts, then shows steady blue when the appliance is ready for its first configuration.",
            Heading("2.4 Checking the installation", 2),
            "The installation is complete when the status LED is steady blue, both power supply LEDs on the rear are "
            "green and the link LEDs of the connected ports are lit. An amber LED on a power supply means that the "
            "supply has no input power or has failed.",
        ),
        (
            Heading("3 Initial configuration"),
            "The initial configuration gives the appliance its network identity, sets the administrator password and "
            "creates the first storage pool. It is done once, either with the setup wizard in the web console or over "
            "the serial console when the management network has no DHCP server.",
            Heading("3.1 Using the setup wizard", 2),
            "By default the management port requests an address from DHCP. The address appears on the front panel "
            "display; open it in a browser over HTTPS and log in as admin with the one-time password printed on the "
            "label on the top of the chassis. The wizard asks you to replace that password before anything else.",
            NumberedList(
                (
                    "Set the host name, the time zone and the NTP servers.",
                    "Configure the management and data interfaces.",
                    "Create the administrator account for daily use.",
                    "Create the first storage pool.",
                    "Register the appliance to receive software updates.",
                )
            ),
            Heading("3.2 Using the serial console", 2),
            "To configure the appliance without a network, connect the serial cable to the console port on the rear "
            "panel and open a terminal at 115200 baud, 8 data bits, no parity and 1 stop bit. The console shows the "
            "same wizard as the web console, in text form.",
        ),
        (
            Heading("4 Network settings"),
            "Network settings are changed in the web console under System, Network. Every change is tested before it "
            "is saved: the appliance applies the new settings, checks that the management address still answers, and "
            "rolls back automatically after two minutes if you do not confirm the change.",
            Heading("4.1 Link aggregation", 2),
            "The two data ports can be bonded into one logical interface with LACP. A bond doubles the available "
            "bandwidth when many systems back up at once and keeps backups running if one cable or switch port fails. "
            "It requires both ports to be connected to the same switch, or to a switch pair that supports multi-chassis "
            "aggregation.",
            Heading("4.2 VLANs", 2),
            "A VLAN interface lets the appliance reach several backup networks over the same physical port. Create one "
            "VLAN interface for each network, give it an address in that network and tag the switch port with the same "
            "VLAN IDs; untagged traffic continues to use the address of the parent interface.",
            Heading("4.3 Firewall", 2),
            "The appliance accepts connections only on the ports it needs: 443 for the web console and the API, 22 for "
            "the command-line interface and 7410 for backup agents. The management ports can be restricted to a list of "
            "administration networks in the firewall settings, which we strongly recommend.",
        ),
        (
            Heading("5 Storage pools"),
            "A storage pool is a group of disks that the appliance manages as one unit of capacity and redundancy. "
            "Backups are always written to a pool, and each pool has its own protection level, which decides how many "
            "disks can fail without losing data.",
            "The HX-40 supports two protection levels. Double parity survives the failure of any two disks in the pool "
            "and offers the most usable capacity; mirroring survives one failure per mirror pair, rebuilds faster and "
            "gives better restore performance for many small files.",
            Heading("5.1 Spare disks", 2),
            "A spare disk is an installed disk that holds no data until another disk fails. When a disk fails, the "
            "appliance starts rebuilding onto the spare at once, without waiting for an administrator, so keep at least "
            "one spare in every appliance whose disks are older than three years.",
            Heading("5.2 Capacity planning", 2),
            "Plan for the pool to stay below 80 percent full. Deduplication and compression make the stored size hard "
            "to predict, and the appliance needs free space to run garbage collection; above 90 percent, new backups "
            "are refused until space is freed.",
        ),
        (
            Heading("6 Backup jobs"),
            "A backup job defines what is protected, where the backups are stored, when they run and how long they are "
            "kept. Jobs are created in the web console under Protection, Jobs, and each job can protect any number of "
            "systems of the same kind.",
            Heading("6.1 Schedules", 2),
            "The schedule of a job says when its backups start. Most environments run one full backup a week and an "
            "incremental backup every night; the appliance turns every incremental into a synthetic full backup in the "
            "background, so restores never need to read a long chain of incrementals.",
            Heading("6.2 Retention", 2),
            "The retention policy of a job decides how long each backup is kept. A typical policy keeps daily backups "
            "for 14 days, weekly backups for 8 weeks and monthly backups for 12 months; the appliance deletes expired "
            "backups every night and reclaims their space during garbage collection.",
            Heading("6.3 Immutable backups", 2),
            "Immutable backups cannot be changed or deleted before their retention period ends, not even by an "
            "administrator. Turn on immutability for at least one job that protects your most important systems, so "
            "that an attacker who steals administrator credentials still cannot destroy the last good copy.",
        ),
        (
            Heading("7 Restoring data"),
            "Restores are started from the web console under Protection, Restore, by choosing a system, a point in time "
            "and what to restore. You can restore single files, whole volumes or complete virtual machines, either to "
            "their original location or to a different one.",
            Heading("7.1 Restoring single files", 2),
            "To restore single files, browse the backup of the system in the web console, select the files and choose "
            "whether to download them or to write them back to the system through the backup agent. Restores of up to "
            "a few thousand files usually start within seconds, because the appliance keeps the file index of every "
            "backup on its system disks.",
            Heading("7.2 Instant recovery", 2),
            "Instant recovery starts a virtual machine directly from its backup on the appliance, without copying it "
            "back first. The machine is available within minutes, runs with reduced disk performance and is migrated "
            "back to production storage in the background while it keeps running.",
            "Test your restores regularly. A restore test once a month for every important system is the only way to "
            "know that the backups are complete and that the people on call know the procedure.",
        ),
        (
            Heading("8 Replication"),
            "Replication copies backups from one appliance to a second appliance, usually in another building or data "
            "centre, so that a fire or a flood at the first site does not destroy both the systems and their backups. "
            "Only new and changed blocks are sent, after deduplication and compression.",
            Heading("8.1 Pairing appliances", 2),
            "To pair two appliances, create a pairing code on the target appliance under Replication, Targets, and "
            "enter it on the source appliance within fifteen minutes. The appliances exchange certificates during "
            "pairing, and all replication traffic between them is encrypted.",
            Heading("8.2 Bandwidth limits", 2),
            "Replication can use the whole link between the sites. Set a bandwidth limit with a schedule when the link "
            "is shared, for example 200 megabits per second during office hours and no limit at night, so that "
            "replication does not slow down other traffic.",
        ),
        (
            Heading("9 Monitoring and alarms"),
            "The dashboard of the web console shows the health of the appliance at a glance: the state of every job in "
            "the last 24 hours, the free capacity of each pool and any active alarms. An alarm stays active until its "
            "cause is resolved, even if someone acknowledges it.",
            Heading("9.1 Notifications", 2),
            "The appliance can send notifications by e-mail, to a syslog server and as SNMP traps. Configure at least "
            "one notification channel during the initial configuration, because an appliance that fails silently is "
            "worse than no appliance at all.",
            Heading("9.2 Front panel LEDs", 2),
            "The status LED on the front panel summarises the state of the appliance in one colour:",
            NumberedList(
                (
                    "Steady blue: the appliance is running normally.",
                    "Blinking blue: HaldenOS is starting or installing an update.",
                    "Steady amber: an alarm needs attention; see the dashboard.",
                    "Blinking amber: a disk has failed and a rebuild is running.",
                    "Off: the appliance has no power.",
                )
            ),
        ),
        (
            Heading("10 Maintenance"),
            "Routine maintenance of the HX-40 consists of installing software updates, replacing failed disks and "
            "cleaning the air filter. None of these tasks requires a maintenance window, because the appliance keeps "
            "running backups while they are done.",
            Heading("10.1 Replacing a disk", 2),
            "To replace a failed disk, find it by its blinking amber LED, press the release button on its carrier and "
            "pull the carrier out. Insert the new disk in the same slot; the appliance detects it within a minute and, "
            "if no spare has taken over already, starts the rebuild automatically.",
            "Use only disks supplied by Halden or listed as compatible for your model. Other disks may work at first "
            "but are not covered by support, and their firmware can behave differently under the sustained load of a "
            "rebuild.",
            Heading("10.2 Cleaning the air filter", 2),
            "The air filter behind the front bezel should be cleaned every three months, or monthly in dusty rooms. "
            "Remove the bezel, take out the filter, clean it with a vacuum cleaner or compressed air and put it back; a "
            "clogged filter raises disk temperatures and shortens disk life.",
        ),
        (
            Heading("10.3 Software updates", 2),
            "Software updates are installed from the web console under System, Updates. The appliance downloads the "
            "update, checks its signature and installs it on the inactive system partition, then restarts into the new "
            "version; if the new version fails to start three times, the appliance returns to the previous one "
            "automatically.",
            "Schedule updates outside the backup window. An update restarts the appliance, which takes about ten "
            "minutes, and running backups are paused and resumed afterwards.",
            Heading("11 Troubleshooting"),
            "Most problems show up first as a failed backup job. Open the job in the web console and read the error of "
            "the failed run before you change anything: the message names the system, the step that failed and, for "
            "most errors, the action that fixes it.",
            Heading("11.1 Backup jobs fail with timeouts", 2),
            "Timeouts usually mean that the backup agent cannot reach the appliance on port 7410. Check the firewall "
            "between the protected system and the appliance, and run the connectivity test from the agent page of the "
            "web console, which tests name resolution, routing and the port in one step.",
        ),
        (
            Heading("11.2 Collecting a support bundle", 2),
            "A support bundle is an archive of logs, configuration and diagnostic data that Halden support needs to "
            "investigate a problem. To create one, open System, Support and choose Create bundle; the bundle contains "
            "no backup data and no passwords, and it can be uploaded directly to a support case.",
            Heading("11.3 Resetting the administrator password", 2),
            "If the administrator password is lost, connect to the serial console, restart the appliance and press R "
            "when the boot menu appears. The reset requires physical access and the serial number of the appliance, "
            "and it records an event in the audit log that cannot be deleted.",
            Heading("12 Technical specifications"),
            "The HX-40 holds twelve 3.5-inch disks in hot-swap carriers and two mirrored system disks. With "
            "20-terabyte disks and double parity, the usable capacity is about 180 terabytes before deduplication and "
            "compression.",
            "The appliance draws about 450 watts in normal operation and up to 750 watts while all disks spin up. Both "
            "power supplies accept 100 to 240 volts, and the noise level at one metre is 58 dB(A) in normal operation.",
        ),
    ),
)

_RELEASE_NOTES = _PdfDoc(
    "HaldenOS_5.2_release_notes.pdf",
    "HaldenOS 5.2 Release Notes",
    "For the HX-20, HX-40 and HX-80 backup appliances",
    "HaldenOS 5.2 Release Notes",
    (
        (
            Heading("1 About this release"),
            "HaldenOS 5.2 is a feature release for the HX-20, HX-40 and HX-80 backup appliances. It adds immutable "
            "backups for file shares, a new replication scheduler and support for 22-terabyte disks, and it fixes 41 "
            "issues reported since HaldenOS 5.1.",
            "The release is available from the update service now. Appliances with automatic updates turned on will "
            "install it during their next update window, at the earliest seven days after publication, unless an "
            "administrator postpones it.",
            Heading("2 New features"),
            Heading("2.1 Immutable file share backups", 2),
            "Backups of SMB and NFS file shares can now be made immutable, like virtual machine backups in earlier "
            "releases. Immutability is set per job and cannot be turned off for backups that were already taken.",
        ),
        (
            Heading("2.2 Replication scheduler", 2),
            "Replication now follows its own schedule instead of starting after each backup job. The new scheduler can "
            "hold replication back during office hours and catch up at night, and it shows the expected completion "
            "time of the current cycle on the dashboard.",
            Heading("2.3 Larger disks", 2),
            "The HX-40 and HX-80 now accept 22-terabyte disks. Existing pools can be grown by replacing their disks one "
            "at a time with larger ones; the extra capacity becomes available when the last disk of the pool has been "
            "replaced and rebuilt.",
            Heading("2.4 Safer firmware updates", 2),
            "Disk firmware updates are now installed one disk at a time, and each disk is checked before the next one "
            "is updated. If a disk does not return to service after its update, the appliance stops the rollout and "
            "raises an alarm instead of continuing.",
        ),
        (
            Heading("3 Fixed issues"),
            "The following issues reported by customers are fixed in this release:",
            NumberedList(
                (
                    "The dashboard could show a job as running after the appliance restarted during the job.",
                    "A VLAN interface lost its address when the parent bond was reconfigured.",
                    "Restores of files with names longer than 255 bytes failed with an unclear error.",
                    "The front panel LED stayed amber after a replaced disk had finished rebuilding.",
                    "SNMP traps for fan failures were sent with the wrong severity, so a failed fan was reported as a "
                    "warning instead of a critical alarm.",
                )
            ),
            "The fix for fan failure traps changes the severity of existing alarms. After you upgrade, review any SNMP "
            "rules that filter Halden traps by severity, so that fan failures still reach the people on call.",
        ),
        (
            Heading("4 Known issues"),
            "Instant recovery of virtual machines with more than 32 disks can take up to twenty minutes to start "
            "instead of the usual few minutes. The machine works normally once it has started, and a fix is planned "
            "for HaldenOS 5.2.1.",
            "After an upgrade from HaldenOS 4.x, the first garbage collection can run for several hours on pools that "
            "are more than 70 percent full. Backups continue during garbage collection but may take longer than usual.",
            Heading("5 Upgrade instructions"),
            "Upgrades to HaldenOS 5.2 are supported from 5.0 and 5.1 directly. Appliances running 4.x must first be "
            "upgraded to 5.0, because the disk layout changed in that release and cannot be converted in one step.",
            NumberedList(
                (
                    "Check that no disk is rebuilding and that every pool is below 90 percent full.",
                    "Create a support bundle, so that the state before the upgrade is recorded.",
                    "Start the update from System, Updates, outside the backup window.",
                    "After the restart, confirm the version on the dashboard and run one backup job by hand.",
                )
            ),
        ),
    ),
)

_QUICK_START = _PdfDoc(
    "HX-40_quick_start.pdf",
    "Halden HX-40 Quick Start Guide",
    "From the carton to the first backup",
    "Halden HX-40 Quick Start Guide",
    (
        (
            Heading("Before you start"),
            "This guide takes you from the unopened carton to the first successful backup in about an hour. It covers "
            "the essential steps only; the operator manual describes every option in detail and should be at hand for "
            "anything this guide does not cover.",
            "Warning: Lifting the appliance requires two people. Install the rails and make sure that both latches are "
            "engaged before you let go of the chassis.",
            Heading("Step 1: Install the appliance"),
            "Mount the rails, slide the appliance onto them and connect both power cords to separate power "
            "distribution units. Connect the MGMT port to your administration network and one data port to your "
            "backup network, then press the power button.",
        ),
        (
            Heading("Step 2: Run the setup wizard"),
            "When the status LED turns steady blue, the front display shows the address of the management port. Open "
            "that address in a browser, log in with the one-time password from the label on the chassis and follow the "
            "wizard until the first storage pool is created.",
            Heading("Step 3: Install a backup agent"),
            "Backup agents run on the systems you protect and send their data to the appliance. Download the agent for "
            "each operating system from the Agents page of the web console; the installer asks for the address of the "
            "appliance and for a registration token that the same page displays.",
        ),
        (
            Heading("Step 4: Run your first backup"),
            "Create a backup job under Protection, Jobs, add the systems whose agents you installed and keep the "
            "suggested schedule and retention. Start the job by hand once and watch it on the dashboard: the first "
            "backup is a full backup and takes longest, while later runs only send changes.",
            Heading("Where to go next"),
            "Read the chapters on retention and immutable backups in the operator manual before you rely on the "
            "appliance in production. Set up notifications so that failed jobs reach a person, and schedule a monthly "
            "restore test of your most important systems.",
        ),
    ),
)


def _pdf_document(doc: _PdfDoc) -> bytes:
    """The document with outline, title block, running header and page numbers; one page per ``doc.pages`` entry."""
    pages = [[Paragraph(e) if isinstance(e, str) else e for e in elements] for elements in doc.pages]
    try:
        return build_pdf(
            pages,
            title=doc.title,
            subtitle=doc.subtitle,
            author=_PDF_AUTHOR,
            title_block=True,
            header=doc.running_header,
            page_numbers="Page {n}",
        )
    except ValueError as error:
        raise ValueError(f"{doc.path}: {error}") from None


def _scanned_pdf() -> bytes:
    """A "scan" without OCR: one page of drawn shapes and no text at all."""
    return image_only_pdf(title="Scanned invoice")


def _encrypted_pdf() -> bytes:
    """A one-page contract encrypted with the user password "secret" (RC4-128, deterministic bytes)."""
    contract = [
        Heading("Maintenance and Support Contract"),
        Paragraph(
            "This contract covers hardware replacement and software support for the Halden HX-40 appliance listed "
            "in schedule A, for a term of thirty-six months from the date of installation."
        ),
    ]
    return encrypt_pdf(build_pdf([contract], title="Service contract", outline=False), user_password=PDF_PASSWORD)


_PDF_TOPICS = (
    Topic(
        "Safety",
        "Safe handling of the appliance: warnings, cautions, lifting, grounding and the operating environment.",
        ("warning", "caution", "grounded", "electrostatic", "two people", "hazardous", "temperature"),
    ),
    Topic(
        "Installation",
        "Unpacking, mounting the appliance in a rack and connecting power and cables.",
        ("rack", "rails", "mount", "mounting", "power cords", "chassis", "latches", "installation"),
    ),
    Topic(
        "Backup and restore",
        "Backup jobs, schedules, retention, immutable backups and restoring data.",
        ("backup job", "backups", "restore", "restores", "retention", "immutable", "instant recovery"),
    ),
    Topic(
        "Networking",
        "Network configuration: interfaces, DHCP, link aggregation, VLANs, ports and the firewall.",
        ("network", "VLAN", "interface", "DHCP", "LACP", "port", "firewall", "bandwidth"),
    ),
    Topic(
        "Maintenance",
        "Keeping the appliance healthy: software and firmware updates, disk replacement and the air filter.",
        ("firmware", "update", "updates", "upgrade", "replace", "replacing", "air filter", "maintenance"),
    ),
    Topic(
        "Troubleshooting",
        "Finding and fixing problems: alarms, LEDs, error messages, timeouts and support bundles.",
        ("troubleshooting", "alarm", "alarms", "LED", "error", "timeouts", "support bundle", "support case"),
    ),
)

_MANUAL_PATH, _NOTES_PATH, _QUICK_PATH = _MANUAL.path, _RELEASE_NOTES.path, _QUICK_START.path

_PDF_GOLDEN: tuple[tuple[str, str, str], ...] = (
    (
        "How heavy is the HX-40?",
        "The HX-40 is a 2U rack-mounted device that weighs 24 kilograms when fully populated with disks.",
        _MANUAL_PATH,
    ),
    (
        "Is it safe to open the top cover when the power button is off?",
        "Both power supplies carry hazardous voltage whenever a power cord is plugged in, even when the front power "
        "button is off; unplug both cords before you open the top cover.",
        _MANUAL_PATH,
    ),
    (
        "What temperature and humidity can the appliance run in?",
        "Operate the appliance at an ambient temperature between 10 and 35 degrees Celsius and a relative humidity "
        "between 20 and 80 percent, without condensation.",
        _MANUAL_PATH,
    ),
    (
        "How do I mount the appliance in a rack?",
        "To mount the appliance, attach the inner rails to the sides of the chassis, fit the outer rails into the rack "
        "at the same height on the front and rear posts, and slide the chassis onto them until both latches click.",
        _MANUAL_PATH,
    ),
    (
        "Should both power supplies be connected to the same power distribution unit?",
        "Connect each power supply to a different power distribution unit, ideally fed from separate circuits.",
        _MANUAL_PATH,
    ),
    (
        "How do I configure the appliance when there is no network?",
        "To configure the appliance without a network, connect the serial cable to the console port on the rear panel "
        "and open a terminal at 115200 baud, 8 data bits, no parity and 1 stop bit.",
        _MANUAL_PATH,
    ),
    (
        "Which ports does the appliance accept connections on?",
        "The appliance accepts connections only on the ports it needs: 443 for the web console and the API, 22 for the "
        "command-line interface and 7410 for backup agents.",
        _MANUAL_PATH,
    ),
    (
        "What is the difference between double parity and mirroring?",
        "The HX-40 supports two protection levels. Double parity survives the failure of any two disks in the pool and "
        "offers the most usable capacity; mirroring survives one failure per mirror pair, rebuilds faster and gives "
        "better restore performance for many small files.",
        _MANUAL_PATH,
    ),
    (
        "How full should a storage pool be allowed to get?",
        "Plan for the pool to stay below 80 percent full.",
        _MANUAL_PATH,
    ),
    (
        "How long are backups kept by a typical retention policy?",
        "The retention policy of a job decides how long each backup is kept. A typical policy keeps daily backups for "
        "14 days, weekly backups for 8 weeks and monthly backups for 12 months; the appliance deletes expired backups "
        "every night and reclaims their space during garbage collection.",
        _MANUAL_PATH,
    ),
    (
        "Can an administrator delete an immutable backup?",
        "Immutable backups cannot be changed or deleted before their retention period ends, not even by an "
        "administrator.",
        _MANUAL_PATH,
    ),
    (
        "How do I restore single files from a backup?",
        "To restore single files, browse the backup of the system in the web console, select the files and choose "
        "whether to download them or to write them back to the system through the backup agent.",
        _MANUAL_PATH,
    ),
    (
        "What is instant recovery?",
        "Instant recovery starts a virtual machine directly from its backup on the appliance, without copying it back "
        "first.",
        _MANUAL_PATH,
    ),
    (
        "How do I pair two appliances for replication?",
        "To pair two appliances, create a pairing code on the target appliance under Replication, Targets, and enter it "
        "on the source appliance within fifteen minutes.",
        _MANUAL_PATH,
    ),
    (
        "How do I replace a failed disk?",
        "To replace a failed disk, find it by its blinking amber LED, press the release button on its carrier and pull "
        "the carrier out.",
        _MANUAL_PATH,
    ),
    (
        "How often should the air filter be cleaned?",
        "The air filter behind the front bezel should be cleaned every three months, or monthly in dusty rooms.",
        _MANUAL_PATH,
    ),
    (
        "Why do my backup jobs fail with timeouts?",
        "Timeouts usually mean that the backup agent cannot reach the appliance on port 7410.",
        _MANUAL_PATH,
    ),
    (
        "What is a support bundle?",
        "A support bundle is an archive of logs, configuration and diagnostic data that Halden support needs to "
        "investigate a problem.",
        _MANUAL_PATH,
    ),
    (
        "How do I reset a lost administrator password?",
        "If the administrator password is lost, connect to the serial console, restart the appliance and press R when "
        "the boot menu appears.",
        _MANUAL_PATH,
    ),
    (
        "Which versions can be upgraded directly to HaldenOS 5.2?",
        "Upgrades to HaldenOS 5.2 are supported from 5.0 and 5.1 directly.",
        _NOTES_PATH,
    ),
    (
        "Why did the severity of fan failure alarms change after the upgrade?",
        "The fix for fan failure traps changes the severity of existing alarms.",
        _NOTES_PATH,
    ),
    (
        "Is there a known problem with instant recovery of large virtual machines?",
        "Instant recovery of virtual machines with more than 32 disks can take up to twenty minutes to start instead of "
        "the usual few minutes.",
        _NOTES_PATH,
    ),
    (
        "How long does it take to set up the appliance and run the first backup?",
        "This guide takes you from the unopened carton to the first successful backup in about an hour.",
        _QUICK_PATH,
    ),
    (
        "Where do I get the backup agent for my servers?",
        "Download the agent for each operating system from the Agents page of the web console; the installer asks for "
        "the address of the appliance and for a registration token that the same page displays.",
        _QUICK_PATH,
    ),
)

SCANNED_PDF = "scanned_invoice.pdf"
ENCRYPTED_PDF = "locked_contract.pdf"
PDF_PASSWORD = "secret"


def pdf_manual(root: Path) -> Corpus:
    """Three PDFs with outlines (operator manual, release notes, quick start guide) plus two the platform must
    quarantine: ``scanned_invoice.pdf`` (no text) and ``locked_contract.pdf`` (password ``secret``)."""
    for doc in (_MANUAL, _RELEASE_NOTES, _QUICK_START):
        _write(root, doc.path, _pdf_document(doc))
    _write(root, SCANNED_PDF, _scanned_pdf())
    _write(root, ENCRYPTED_PDF, _encrypted_pdf())
    return _corpus("pdf-manual", root, ["**/*.pdf"], _PDF_TOPICS, _PDF_GOLDEN)


CORPORA: dict[str, Callable[[Path], Corpus]] = {
    "markdown-handbook": markdown_handbook,
    "man-pages": man_pages,
    "html-site": html_site,
    "pdf-manual": pdf_manual,
}
