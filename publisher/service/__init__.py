"""``publisher serve``: the scheduler and the web app in one process (the jobs it runs are
publisher.jobs, which ``publisher run-once`` runs too).

- scheduler: the APScheduler BackgroundScheduler that runs the jobs (the one module that uses it)
- server:    uvicorn serving publisher.web, started and stopped with the scheduler

The web app does not import this package: it gets what it shows of the jobs (/admin/,
/healthz) through publisher.web.context.Schedule, which the scheduler implements.
"""
