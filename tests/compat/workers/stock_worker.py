"""A stock worker written the way Camunda's Python client documents it (the seed's
`stock_worker.py` style): ExternalTaskWorker(...).subscribe(topic, handler), forever.

The compatibility tests run this as a subprocess against `baton serve` and stop it with SIGTERM.
What the handler decides depends only on the task's `item` variable:
  - "broken-scanner": report a failure (retries counted down by the client) until an incident;
  - "discontinued":   throw BPMN error OUT_OF_STOCK (caught by the boundary event);
  - anything else:    complete with a few untyped variables (the engine infers their types) and
                      one explicitly typed Long.
Each handled task is appended as one JSON line to $WORKER_EVENTS so the tests can see what the
worker saw (retries, variables) without sharing memory with it.

Environment: BATON_ENGINE_REST (base URL incl. /engine-rest), WORKER_ID, WORKER_TOPIC,
WORKER_EVENTS, WORKER_ASYNC_RESPONSE_TIMEOUT (ms, default the client's 30000).
"""

import json
import logging
import os
import signal
import sys

from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker

FAILURE_MESSAGE = "barcode scanner offline"
FAILURE_DETAILS = "ScannerError: bay 7 did not answer within 2s"
MAX_RETRIES = 2
BPMN_ERROR_CODE = "OUT_OF_STOCK"
BPMN_ERROR_MESSAGE = "item is discontinued"



def record(event: dict) -> None:
    with open(os.environ["WORKER_EVENTS"], "a", encoding="utf-8") as f:
        f.write(json.dumps(event) + "\n")


def handle_task(task: ExternalTask) -> TaskResult:
    item = task.get_variable("item")
    quantity = task.get_variable("quantity")
    base = {
        "taskId": task.get_task_id(),
        "processInstanceId": task.get_process_instance_id(),
        "activityId": task.get_activity_id(),
        "topic": task.get_topic_name(),
        "businessKey": task.get_business_key(),
        "retries": task._context.get("retries"),  # what fetchAndLock said; the client uses it
        "variables": task.get_variables(),
        "workerId": task.get_worker_id(),
    }
    if item == "broken-scanner":
        record({**base, "action": "failure"})
        return task.failure(FAILURE_MESSAGE, FAILURE_DETAILS, max_retries=MAX_RETRIES, retry_timeout=0)
    if item == "discontinued":
        record({**base, "action": "bpmnError"})
        return task.bpmn_error(BPMN_ERROR_CODE, BPMN_ERROR_MESSAGE, {"reason": "discontinued"})
    record({**base, "action": "complete"})
    return task.complete({
        "inStock": True,
        "reserved": quantity,
        "warehouse": "north",
        "unitPrice": 12.5,
        "reservationId": {"value": 9007199254740993, "type": "Long"},
    })


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    # The client's loop catches BaseException (SystemExit included) and keeps polling, so a
    # SIGTERM from the tests ends the process directly; event lines are written whole.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    config = {
        "maxTasks": 1,
        "lockDuration": 10000,
        # errors make the client sleep this long before polling again (default 300 s)
        "sleepSeconds": 1,
    }
    timeout = os.environ.get("WORKER_ASYNC_RESPONSE_TIMEOUT")
    if timeout:
        config["asyncResponseTimeout"] = int(timeout)
    worker = ExternalTaskWorker(worker_id=os.environ.get("WORKER_ID", "stock-worker"),
                                base_url=os.environ["BATON_ENGINE_REST"], config=config)
    worker.subscribe(os.environ.get("WORKER_TOPIC", "stock-check"), handle_task)


if __name__ == "__main__":
    main()
