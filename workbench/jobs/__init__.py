"""Background training jobs: a row in `jobs` plus a folder `data/jobs/<id>/`.

folder.py    the job folder protocol (what the submitter and the worker read and write)
backend.py   JobBackend (submit, status, cancel, logs) and the local subprocess backend
scheduler.py `python -m workbench.jobs.scheduler`: claims queued jobs, watches heartbeats,
             copies progress and metrics into the database
queue.py     submit, sweep, cancel, resume, delete, wait: what the Train page and the CLI call
"""
