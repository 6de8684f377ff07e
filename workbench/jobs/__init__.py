"""Background training jobs: a row in `jobs` plus a folder `data/jobs/<id>/`.

The folder protocol and the worker belong to workbench/train/ (folder.py, worker.py): jobs/
imports train, never the reverse.

backend.py      JobBackend (submit, status, exit_code, cancel, owns, logs, slots), the local
                subprocess backend, get_backend() for WORKBENCH_JOB_BACKEND
ray_backend.py  the same worker command as Ray jobs (optional: requirements-ray.txt)
scheduler.py    `python -m workbench.jobs.scheduler`: claims queued jobs, watches heartbeats,
                copies progress and metrics into the database, each job through its own backend
queue.py        submit, sweep, cancel, resume, delete, wait: what the Train page and the CLI call
"""
