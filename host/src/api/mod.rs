//! The Camunda-7-compatible REST API.
