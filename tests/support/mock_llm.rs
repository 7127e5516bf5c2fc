//! Mock model API server (see module docs once written).
