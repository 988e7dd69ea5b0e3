"""Prefect orchestration of the migration: the only package that imports Prefect.

plan.py      which entities, in which waves (pure: no Prefect, no database)
steps.py     plain functions that each make one call into ``migrate``/``reconcile``
tasks.py     those steps as Prefect tasks (small arguments: names, ids, paths)
load.py      the load subflow: entity tasks submitted once their inputs are loaded
signoff.py   the typed sign-off input and what a decision writes
cutover.py   the cutover flow; domain.py one flow per domain; cli.py ``migrate cutover``
server.py    the one Prefect server a ``migrate cutover`` starts, uses and always stops
console.py   what ``migrate cutover`` shows on its terminal, and how Ctrl-C stops the flow
stopped.py   a run killed unfinished: a new cutover on its staging refused, its flow runs closed
timing.py    cutover timing per entity, compared over rehearsals
"""
