"""Two proxy replicas that share one real ``redis-server``, with two real sandbox workers.

Everything is a real process on loopback, as in a deployment: ``redis-server`` (on a Unix
socket), two ``python -m sandbox serve`` workers, two ``python -m proxy serve`` replicas with the
same ``SSTAR_TRACE_SECRET``, client keys and Redis, and the scripted fake upstream. The official
``openai`` SDK is the client where its behaviour matters (a timeout, then a retry).

The cluster is started once for the module. The last two tests break it on purpose (a worker
killed, then Redis stopped), so they come last; the ones before leave it whole.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.redis_server import RedisServer
from tests.replicas import ProxyProcess
from tests.workers import TOKEN, WorkerProcess

pytestmark = pytest.mark.bwrap

KEY = "sk-cluster-key-one"
OTHER_KEY = "sk-cluster-key-two"
SECRET = "cluster-trace-secret-0123456789abcdef"  # noqa: S105 - a test secret
SAMPLING = "Write a complete Python 3 program"  # in S*'s sampling prompt only
PROGRAM = "```python\nimport time\ntime.sleep(0.3)\nprint(sum(map(int, input().split())))\n```"


def task(tag: str) -> str:
    """A stdin task; ``tag`` makes the request (and so its run key) distinct."""
    return (
        f"Print the sum of the integers on the single input line. ({tag})\n\n"
        "Input\nOne line with integers separated by spaces.\n\n"
        "Output\nPrint their sum.\n\n"
        "Sample Input 1\n1 2 3\n\nSample Output 1\n6\n"
    )


class Upstream:
    """The fake upstream's script: sampling answers ``PROGRAM`` after ``sampling_delay_s``."""

    def __init__(self) -> None:
        self.sampling_delay_s = 0.0

    def __call__(self, path: str, body: dict[str, Any]) -> Reply:
        if SAMPLING in last_user_text(body):
            texts = [PROGRAM] * int(body.get("n") or 1)
            return Reply(texts=texts, delay_s=self.sampling_delay_s)
        return Reply(text='```json\n["4 5\\n"]\n```')


@dataclass
class Cluster:
    redis: RedisServer
    workers: list[WorkerProcess]
    a: ProxyProcess
    b: ProxyProcess


@pytest.fixture(scope="module")
def cluster(fake_upstream_server: FakeUpstream) -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="cluster-"))  # short: a Unix socket path
    redis = RedisServer(directory).start()
    workers = [WorkerProcess(directory, "--workers", "2").start() for _ in range(2)]
    env = {
        "SSTAR_UPSTREAM_API_BASE": fake_upstream_server.base_url,
        "SSTAR_UPSTREAM_RETRIES": "0",
        "SSTAR_REDIS_URL": redis.url,
        "SSTAR_SANDBOX_URLS": ",".join(w.url for w in workers),
        "SSTAR_SANDBOX_TOKEN": TOKEN,
        "SSTAR_TRACE_SECRET": SECRET,
        "SSTAR_API_KEYS": f"{KEY},{OTHER_KEY}",
        "SSTAR_MAX_CONCURRENT_RUNS": "1",
        "SSTAR_NUM_SAMPLES": "2",
        "SSTAR_DEBUG_ROUNDS": "0",
        "SSTAR_DEADLINE_S": "60",
    }
    a = ProxyProcess(directory / "a.log", **env)
    b = ProxyProcess(directory / "b.log", **env)
    try:
        a.start()
        b.start()
        yield Cluster(redis=redis, workers=workers, a=a, b=b)
    finally:
        for process in (a, b):
            process.stop()
        for worker in workers:
            worker.stop()
        redis.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def upstream(fake_upstream: FakeUpstream) -> Upstream:
    script = Upstream()
    fake_upstream.responder = script
    return script


def body(tag: str) -> dict[str, Any]:
    return {"model": "fake-model", "messages": [{"role": "user", "content": task(tag)}]}


def ask(
    replica: ProxyProcess, tag: str, *, key: str = KEY, retry: int = 0, timeout: float = 60
) -> httpx.Response:
    headers = {
        "authorization": f"Bearer {key}",
        "x-sstar-mode": "force",
        "x-stainless-retry-count": str(retry),
    }
    return httpx.post(
        f"{replica.url}/v1/chat/completions", json=body(tag), headers=headers, timeout=timeout
    )


def sampling_calls(fake: FakeUpstream, tag: str) -> int:
    return sum(
        1
        for r in fake.requests
        if isinstance(r.json, dict) and SAMPLING in last_user_text(r.json) and tag in str(r.json)
    )


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_sdk_retry_sent_to_the_other_replica_joins_the_same_run(
    cluster: Cluster, upstream: Upstream, fake_upstream: FakeUpstream
) -> None:
    upstream.sampling_delay_s = 4.0
    sdk = openai.OpenAI(base_url=f"{cluster.a.url}/v1", api_key=KEY, timeout=1.5, max_retries=0)
    with pytest.raises(openai.APITimeoutError):
        sdk.chat.completions.create(**body("retry"), extra_headers={"x-sstar-mode": "force"})
    # The SDK's retry, sent (as a load balancer may) to the other replica.
    retry = openai.OpenAI(base_url=f"{cluster.b.url}/v1", api_key=KEY, timeout=60, max_retries=0)
    raw = retry.chat.completions.with_raw_response.create(
        **body("retry"), extra_headers={"x-sstar-mode": "force", "x-stainless-retry-count": "1"}
    )
    answer = raw.parse()
    assert raw.headers["x-sstar-applied"] == "true"
    assert "sum(map(int, input().split()))" in (answer.choices[0].message.content or "")
    calls = sampling_calls(fake_upstream, "retry")
    # A's run, asked again on A: the same run (its id) and the same answer.
    again = ask(cluster.a, "retry", retry=2)
    assert again.status_code == 200, again.text
    assert again.headers["x-sstar-run-id"] == raw.headers["x-sstar-run-id"]
    assert again.json()["choices"][0]["message"]["content"] == answer.choices[0].message.content
    # One set of sampling calls: the same count as one run makes alone.
    upstream.sampling_delay_s = 0.0
    alone = ask(cluster.b, "alone")
    assert alone.status_code == 200, alone.text
    assert calls == sampling_calls(fake_upstream, "alone")
    assert sampling_calls(fake_upstream, "retry") == calls


def test_a_trace_made_on_one_replica_is_read_on_the_other_with_the_same_key(
    cluster: Cluster, upstream: Upstream
) -> None:
    made = ask(cluster.a, "trace")
    assert made.status_code == 200, made.text
    run_id = made.headers["x-sstar-run-id"]
    url = f"{cluster.b.url}/v1/sstar/runs/{run_id}"
    read = httpx.get(url, headers={"authorization": f"Bearer {KEY}"}, timeout=30)
    assert read.status_code == 200, read.text
    assert read.json()["id"] == run_id
    other = httpx.get(url, headers={"authorization": f"Bearer {OTHER_KEY}"}, timeout=30)
    assert other.status_code == 404


def test_the_capacity_limit_holds_across_replicas(
    cluster: Cluster, upstream: Upstream, fake_upstream: FakeUpstream
) -> None:
    upstream.sampling_delay_s = 3.0
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(ask, cluster.a, "capacity-1")
        wait_until(lambda: sampling_calls(fake_upstream, "capacity-1") > 0)
        refused = ask(cluster.b, "capacity-2")
        assert first.result().status_code == 200
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"]
    upstream.sampling_delay_s = 0.0
    assert ask(cluster.b, "capacity-2").status_code == 200  # the slot is free again


def test_killing_a_sandbox_worker_mid_run_loses_no_request(
    cluster: Cluster, upstream: Upstream, fake_upstream: FakeUpstream
) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(ask, cluster.a, "worker-killed")
        wait_until(lambda: sampling_calls(fake_upstream, "worker-killed") > 0)
        time.sleep(0.2)  # the programs are on their way to the workers (each runs 0.3 s)
        assert not running.done()
        cluster.workers[0].kill()
        answer = running.result()
    assert answer.status_code == 200, answer.text
    assert "sum(map(int, input().split()))" in answer.json()["choices"][0]["message"]["content"]


def test_stopping_redis_degrades_without_failing_requests(
    cluster: Cluster, upstream: Upstream
) -> None:
    cluster.redis.stop()
    try:
        for replica in (cluster.a, cluster.b):
            answer = ask(replica, f"no-redis-{replica.port}")
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-sstar-applied"] == "true"
            metrics = httpx.get(
                f"{replica.url}/metrics", headers={"authorization": f"Bearer {KEY}"}, timeout=30
            )
            assert "sstar_redis_up 0.0" in metrics.text
    finally:
        cluster.redis.start()
