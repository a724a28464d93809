"""People and organisation from the personnel system: files read and checked (rows.py),
what they would change (plan.py), writing it (apply.py), and the actions of the pages,
the API, the command and the jobs (services.py)."""
