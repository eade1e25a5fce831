//! `stock-check`: reads `items` (a Json list of `{"sku": string, "quantity": number}`) and
//! answers `available` (Boolean) and `missing` (a Json list of the unavailable items).
//!
//! The stock rule is deterministic: a sku starting with `OUT` is out of stock, and any other
//! sku has 100 units, so larger quantities are missing too.

wit_bindgen::generate!({ path: "../../wit", world: "service-task" });

use baton::task::log::{Level, log};
use baton::task::types::{Failure, Value};
use serde_json::{Value as Json, json};

/// Units in stock for every sku that is not out of stock.
const STOCK_PER_SKU: u64 = 100;

struct StockCheck;

fn failure(message: impl Into<String>) -> TaskError {
    TaskError::Failure(Failure {
        message: message.into(),
        details: None,
    })
}

impl Guest for StockCheck {
    fn execute(task: Task) -> Result<Output, TaskError> {
        let items = task
            .variables
            .iter()
            .find(|(name, _)| name == "items")
            .map(|(_, value)| value)
            .ok_or_else(|| failure("variable `items` is missing"))?;
        let items: Json = match items {
            Value::Json(text) | Value::String(text) => serde_json::from_str(text)
                .map_err(|e| failure(format!("`items` is not valid JSON: {e}")))?,
            _ => return Err(failure("`items` must be a Json list")),
        };
        let items = items
            .as_array()
            .ok_or_else(|| failure("`items` must be a Json list"))?;

        let mut missing = Vec::new();
        for item in items {
            let sku = item.get("sku").and_then(Json::as_str).unwrap_or_default();
            let quantity = item.get("quantity").and_then(Json::as_u64).unwrap_or(0);
            let in_stock = if sku.starts_with("OUT") {
                0
            } else {
                STOCK_PER_SKU
            };
            if sku.is_empty() || quantity > in_stock {
                missing.push(json!({ "sku": sku, "quantity": quantity, "inStock": in_stock }));
            }
        }
        log(
            Level::Info,
            &format!(
                "stock-check: {} items, {} missing",
                items.len(),
                missing.len()
            ),
        );
        Ok(Output {
            variables: vec![
                ("available".into(), Value::Boolean(missing.is_empty())),
                (
                    "missing".into(),
                    Value::Json(Json::Array(missing).to_string()),
                ),
            ],
        })
    }
}

export!(StockCheck);
