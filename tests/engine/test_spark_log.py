"""Spark's start-up log: the root cause named in srnskit's own message (no Spark needed)."""

from __future__ import annotations

from srnskit.engine.backends.spark_log import root_cause

# Lines of the log Spark 3.5 writes when no master listens at spark://127.0.0.1:1 (abridged:
# one retry of three, most frames left out).
REFUSED = (
    "26/12/03 06:01:41 WARN StandaloneAppClient$ClientEndpoint: Failed to connect to master "
    "127.0.0.1:1\n"
    "org.apache.spark.SparkException: Exception thrown in awaitResult:\n"
    "\tat org.apache.spark.util.SparkThreadUtils$.awaitResult(SparkThreadUtils.scala:56)\n"
    "Caused by: java.io.IOException: Failed to connect to /127.0.0.1:1\n"
    "\tat org.apache.spark.network.client.TransportClientFactory.createClient(…java:305)\n"
    "\t... 4 more\n"
    "Caused by: io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection "
    "refused: /127.0.0.1:1\n"
    "Caused by: java.net.ConnectException: Connection refused\n"
    "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)\n"
    "26/12/03 06:02:42 WARN StandaloneAppClient$ClientEndpoint: Drop UnregisterApplication\n"
)


def test_a_refused_connection_is_named_with_what_it_means() -> None:
    assert root_cause(REFUSED) == (
        "Connection refused (nothing answers at that address: is the master running, and is "
        "its port right?)"
    )


def test_an_unknown_host_and_an_exception_without_a_cause() -> None:
    log = "java.net.UnknownHostException: nn1.example: Name or service not known\n"
    assert root_cause(log) == (
        "nn1.example: Name or service not known (no such host: is the master's name spelled right?)"
    )
    # no 'Caused by': the last exception line; one without a message is named by its class
    assert root_cause("x\norg.apache.spark.SparkException: bad value\n") == "bad value"
    assert root_cause("java.lang.OutOfMemoryError\n") == "java.lang.OutOfMemoryError"
    assert root_cause("26/12/03 WARN nothing went wrong\n") is None


def test_the_last_error_is_followed_down_its_own_causes() -> None:
    # an earlier warning's cause is not the failure's; spark-submit's own form is read
    log = (
        "WARN x: java.lang.RuntimeException: no plugin\n"
        "Caused by: java.lang.ClassNotFoundException: org.foo.Bar\n"
        'Exception in thread "main" java.lang.IllegalArgumentException: Invalid master URL\n'
    )
    assert root_cause(log) == "Invalid master URL"
    # an empty message: the class; a timeout is not a refusal; the hint goes by the class
    assert root_cause("java.lang.NullPointerException:\n") == "java.lang.NullPointerException"
    assert root_cause("java.net.ConnectException: Connection timed out\n") == (
        "Connection timed out (no answer in time: is the host reachable from here, or does a "
        "firewall stop it?)"
    )
    log = "java.lang.IllegalArgumentException: spark.foo=ConnectException refused\n"
    assert root_cause(log) == "spark.foo=ConnectException refused"
