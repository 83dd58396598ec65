"""The job queue seen from the Django admin: jobs with their state, tries and
last error (`admin`), the errors the workers keep (`models.JobError`,
`errors`). The queue's rules for tasks live in `cagette.jobs`.
"""
