//! Room id → chat id, exactly as the original (§11): the first 8 bytes of the SHA-256 of
//! the room id as an unsigned big-endian number; a collision rehashes `"<room>:<hash>"`.
//! Persisted in `matrix_store/room_id_map.json` (`{"!room:server": <number>}`), so the
//! original's sessions (`mx:<number>`) keep their rooms. The numbers are kept bit for
//! bit in the core's `i64` chat ids (see [`crate::address::MATRIX`]).
//!
//! A corrupt map is moved aside and rebuilt: every id is a pure function of its room,
//! so only collisions (practically never) could change.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

/// The chat id a room gets when nothing collides.
pub fn hash_id(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[derive(Debug, Default)]
struct Maps {
    by_room: BTreeMap<String, u64>,
    by_id: HashMap<u64, String>,
    /// Aliases of `allowed_rooms` resolved to room ids (not persisted).
    aliases: HashMap<String, String>,
}

/// The persisted mapping of one agent.
#[derive(Debug)]
pub struct RoomMap {
    file: PathBuf,
    maps: Mutex<Maps>,
}

impl RoomMap {
    /// Loads `file` (a missing file is an empty map; a corrupt one is moved aside).
    pub fn load(file: PathBuf) -> Self {
        let (stored, _): (BTreeMap<String, u64>, _) = crate::store::load_state(&file);
        let mut maps = Maps::default();
        for (room, id) in stored {
            if room.starts_with('!') && !maps.by_id.contains_key(&id) {
                maps.by_id.insert(id, room.clone());
                maps.by_room.insert(room, id);
            }
        }
        Self {
            file,
            maps: Mutex::new(maps),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The chat id of `room`, assigned (and saved) on first sight.
    pub fn chat_id(&self, room: &str) -> i64 {
        let mut maps = self.lock();
        if let Some(id) = maps.by_room.get(room) {
            return id.cast_signed();
        }
        let mut id = hash_id(room);
        while maps.by_id.contains_key(&id) {
            id = hash_id(&format!("{room}:{id}"));
        }
        maps.by_id.insert(id, room.to_owned());
        maps.by_room.insert(room.to_owned(), id);
        if let Err(e) = crate::store::write_json(&self.file, &maps.by_room) {
            tracing::warn!(error = %e, "cannot save room_id_map.json");
        }
        id.cast_signed()
    }

    /// Records that `alias` names `room`.
    pub fn set_alias(&self, alias: &str, room: &str) {
        self.lock()
            .aliases
            .insert(alias.to_owned(), room.to_owned());
    }

    /// The room an alias was resolved to.
    pub fn resolved(&self, alias: &str) -> Option<String> {
        self.lock().aliases.get(alias).cloned()
    }

    /// Whether `room` is one of `allowed` (ids, or aliases resolved to it).
    pub fn listed(&self, allowed: &[String], room: &str) -> bool {
        let maps = self.lock();
        allowed
            .iter()
            .any(|a| a == room || maps.aliases.get(a).is_some_and(|r| r == room))
    }

    /// The room of a chat id, if it was ever seen.
    pub fn room(&self, chat_id: i64) -> Option<String> {
        self.lock().by_id.get(&chat_id.cast_unsigned()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_originals_hash_and_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("room_id_map.json");
        let map = RoomMap::load(file.clone());
        let id = map.chat_id("!abc:example.org");
        assert_eq!(id.cast_unsigned(), hash_id("!abc:example.org"));
        assert_eq!(map.room(id).as_deref(), Some("!abc:example.org"));
        let text = std::fs::read_to_string(&file).unwrap();
        let stored: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(stored["!abc:example.org"], hash_id("!abc:example.org"));
        let again = RoomMap::load(file);
        assert_eq!(again.chat_id("!abc:example.org"), id);
    }

    #[test]
    fn a_collision_rehashes_and_a_corrupt_file_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("room_id_map.json");
        let taken = hash_id("!new:x");
        std::fs::write(&file, format!("{{\"!old:x\": {taken}}}")).unwrap();
        let map = RoomMap::load(file.clone());
        let id = map.chat_id("!new:x").cast_unsigned();
        assert_eq!(id, hash_id(&format!("!new:x:{taken}")));
        assert_eq!(map.room(taken.cast_signed()).as_deref(), Some("!old:x"));
        std::fs::write(&file, "{not json").unwrap();
        let rebuilt = RoomMap::load(file);
        assert_eq!(rebuilt.chat_id("!old:x").cast_unsigned(), hash_id("!old:x"));
    }
}
