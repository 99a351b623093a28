"""gunicorn settings for 平安志愿者: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

Every value can be overridden from the environment, so bin/serve, systemd and the tests share this one file.
Threads, not more processes, carry most of the load: a request mostly waits on the database, and each process
holds its own connection pool and copy of the app (~60 MB).
"""
import multiprocessing
import os

bind = os.environ.get("VOLUNTEERS_BIND", f"127.0.0.1:{os.environ.get('VOLUNTEERS_PORT', '5000')}")
# Two processes per core is gunicorn's own advice for I/O-bound apps; threads serve the waits in between.
workers = int(os.environ.get("VOLUNTEERS_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("VOLUNTEERS_THREADS", 4))
# A photo upload on one bar of signal can take a while; nginx buffers bodies in front, this is the fallback.
timeout = int(os.environ.get("VOLUNTEERS_TIMEOUT", 60))
graceful_timeout = 30  # SIGHUP / systemctl reload: old workers finish their requests first
keepalive = 5
# A worker is replaced after this many requests (with jitter), so slow leaks never reach the whole fleet at once.
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("VOLUNTEERS_ACCESS_LOG", "-")
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# Each worker builds its own app (and database pool): nothing opened in the master can be shared across a fork.
preload_app = False


def post_worker_init(worker):
    """Each worker compiles every template before it takes a request, so the first users after a (re)start do not
    wait for it (bench/README.md: a cold worker answered the dashboard in 340 ms, a warm one in 110 ms)."""
    from volunteers.web.templating import compile_all
    app = worker.wsgi
    if "volunteers.engine" in getattr(app, "extensions", {}):  # this app, not another served with this file
        compile_all(app)
