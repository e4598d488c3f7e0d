"""``publisher serve``: the scheduler and the web app in one process (the jobs it runs are
publisher.jobs, which ``publisher run-once`` runs too).

- scheduler: runs the jobs at their times, on the app's clock
- server:    uvicorn serving publisher.web, started and stopped with the scheduler

The web app does not import this package: it learns whether the scheduler runs (/healthz)
through publisher.web.context.Schedule, which the scheduler implements, and reads the jobs'
next times from publisher.jobs, as `publisher schedule` does.
"""
