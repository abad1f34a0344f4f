from datetime import timedelta

from server.jobs import JOBS
from server.mail.sending import RETRY_DELAYS, send_due_emails


def test_email_job_is_in_the_list_of_jobs():
    [job] = [job for job in JOBS if job.name == "email"]
    assert job.run is send_due_emails


def test_retry_schedule_backs_off_then_retries_hourly_for_a_day():
    assert RETRY_DELAYS[:4] == (
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(hours=1),
    )
    assert set(RETRY_DELAYS[3:]) == {timedelta(hours=1)}
    assert timedelta(days=1) <= sum(RETRY_DELAYS, timedelta()) < timedelta(days=1, hours=2)
