"""stock-check in Python (componentize-py): the same rule as guests/stock-check.

Reads `items` (a Json list of {"sku": str, "quantity": int}) and answers `available`
(Boolean) and `missing` (a Json list). A sku starting with "OUT" is out of stock; any other sku
has 100 units, so larger quantities are missing too.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import log, types

STOCK_PER_SKU = 100


def _failure(message: str) -> Err:
    return Err(types.TaskError_Failure(types.Failure(message=message, details=None)))


class WitWorld(wit_world.WitWorld):
    def execute(self, task: types.Task) -> types.Output:
        items = next((value for name, value in task.variables if name == "items"), None)
        if items is None:
            raise _failure("variable `items` is missing")
        if not isinstance(items, (types.Value_Json, types.Value_String)):
            raise _failure("`items` must be a Json list")
        try:
            items = json.loads(items.value)
        except ValueError as e:
            raise _failure(f"`items` is not valid JSON: {e}")
        if not isinstance(items, list):
            raise _failure("`items` must be a Json list")

        missing = []
        for item in items:
            sku = item.get("sku") or ""
            quantity = item.get("quantity") or 0
            in_stock = 0 if sku.startswith("OUT") else STOCK_PER_SKU
            if not sku or quantity > in_stock:
                missing.append({"sku": sku, "quantity": quantity, "inStock": in_stock})

        log.log(log.Level.INFO, f"stock-check (python): {len(items)} items, {len(missing)} missing")
        return types.Output(
            variables=[
                ("available", types.Value_Boolean(not missing)),
                ("missing", types.Value_Json(json.dumps(missing))),
            ]
        )
