//! The `baton` command line.
