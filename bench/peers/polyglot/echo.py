# The polyglot rows' trivial handler in Python, under `gearbun worker echo.py`.
def poly(job):
    return job.data


handlers = {"poly": poly}
