"""A remote Camunda external-task worker for topic `check-stock`, using the stock PyPI client
(camunda-external-task-client-python3): it talks to baton exactly as it would talk to Camunda 7.

Same stock rule as the wasm guest guests/stock-check: a sku starting with `OUT` is out of
stock, any other sku has 100 units. Reads `items` (a Json list of {"sku", "quantity"}),
answers `available` (Boolean) and `missing` (Json list).

    python3 -m venv .venv && .venv/bin/pip install -r examples/order/requirements.txt
    BATON_URL=http://127.0.0.1:8080 .venv/bin/python examples/order/stock_worker.py

Environment: BATON_URL (default http://127.0.0.1:8080), BATON_USER/BATON_PASSWORD for basic
auth. Stop it with Ctrl-C.
"""

import json
import logging
import os

from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker

STOCK_PER_SKU = 100


def check(items):
    """The missing items of an order (an empty list when everything is in stock)."""
    missing = []
    for item in items:
        sku = str(item.get("sku") or "")
        quantity = int(item.get("quantity") or 0)
        in_stock = 0 if sku.startswith("OUT") else STOCK_PER_SKU
        if not sku or quantity > in_stock:
            missing.append({"sku": sku, "quantity": quantity, "inStock": in_stock})
    return missing


def handle(task: ExternalTask) -> TaskResult:
    items = task.get_variable("items")
    if isinstance(items, str):  # Json variables arrive serialized
        try:
            items = json.loads(items)
        except ValueError as e:
            return task.failure("`items` is not valid JSON", str(e), max_retries=0, retry_timeout=0)
    if not isinstance(items, list):
        return task.failure("`items` must be a Json list", None, max_retries=0, retry_timeout=0)
    missing = check(items)
    logging.info("check-stock: %d items, %d missing (instance %s)",
                 len(items), len(missing), task.get_process_instance_id())
    return task.complete({
        "available": len(missing) == 0,
        "missing": {"value": json.dumps(missing), "type": "Json"},
    })


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    base = os.environ.get("BATON_URL", "http://127.0.0.1:8080").rstrip("/")
    if not base.endswith("/engine-rest"):
        base += "/engine-rest"
    config = {
        "maxTasks": 1,
        "lockDuration": 10000,
        "asyncResponseTimeout": 10000,  # long polling: baton answers as soon as a task exists
        "retries": 3,
        "retryTimeout": 5000,
        "sleepSeconds": 1,
    }
    user = os.environ.get("BATON_USER")
    if user:
        config["auth_basic"] = {"username": user, "password": os.environ.get("BATON_PASSWORD", "")}
    logging.info("stock worker polling %s for topic check-stock", base)
    ExternalTaskWorker(worker_id="stock-worker", base_url=base, config=config).subscribe("check-stock", handle)


if __name__ == "__main__":
    main()
