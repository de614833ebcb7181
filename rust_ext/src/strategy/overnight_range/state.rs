//! The overnight range's day state, field for field the Python dataclasses (`SideState`,
//! `SymbolDay`, `DayState`) so `on_save` writes the same JSON and either implementation can load
//! what the other saved.

use serde::{Deserialize, Serialize};

use crate::strategy::json::OrderedMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideState {
    pub side: String,
    pub tag: String,
    pub level: String,
    pub stop_ticks: i64,
    pub target_ticks: i64,
    #[serde(default = "planned")]
    pub status: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub order_id: Option<i64>,
    #[serde(default)]
    pub fill_price: Option<String>,
    #[serde(default)]
    pub breakeven_done: bool,
    #[serde(default)]
    pub exit_price: Option<String>,
}

fn planned() -> String {
    "planned".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub enabled: bool,
    pub value: Option<String>,
    pub blocks: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SymbolDay {
    pub levels: OrderedMap<Option<String>>,
    pub filters: OrderedMap<Verdict>,
    pub blocked: Option<String>,
    pub sides: OrderedMap<SideState>,
    pub flattened: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayState {
    pub date: String,
    pub opened: bool,
    pub symbols: OrderedMap<SymbolDay>,
}

impl DayState {
    pub fn new(date: String) -> DayState {
        DayState {
            date,
            opened: false,
            symbols: OrderedMap::default(),
        }
    }
}

/// A side plan of a range card (`notifications.side_plan`), keys in its order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SidePlan {
    pub side: String,
    pub level: String,
    pub size: i64,
    pub stop_ticks: Option<i64>,
    pub target_ticks: Option<i64>,
    pub status: String,
    pub note: String,
    pub fill_price: Option<String>,
    pub exit_price: Option<String>,
}

impl SidePlan {
    pub fn of(ss: &SideState, size: i64) -> SidePlan {
        SidePlan {
            side: ss.side.clone(),
            level: ss.level.clone(),
            size,
            stop_ticks: Some(ss.stop_ticks),
            target_ticks: Some(ss.target_ticks),
            status: ss.status.clone(),
            note: ss.note.clone(),
            fill_price: ss.fill_price.clone(),
            exit_price: ss.exit_price.clone(),
        }
    }
}
