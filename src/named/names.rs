//! Names of named sessions: `<adjective><animal>` drawn with the OS random source
//! (e.g. `firmowl`), unique per chat and topic; and the stable names of
//! inter-agent sessions (`ia.<sender>.t<topic>.x<hash>`).

use sha2::{Digest, Sha256};

const ADJECTIVES: [&str; 40] = [
    "bold", "blue", "calm", "cool", "dark", "deep", "fast", "firm", "glad", "gold", "keen", "kind",
    "late", "lean", "live", "long", "loud", "mint", "neat", "next", "pale", "pure", "rare", "real",
    "red", "rich", "safe", "slim", "soft", "tall", "tidy", "tiny", "true", "vast", "warm", "wild",
    "wise", "wry", "zen", "zinc",
];
const ANIMALS: [&str; 47] = [
    "ant", "ape", "bat", "bay", "bee", "cat", "cod", "cow", "cub", "doe", "eel", "elk", "elm",
    "emu", "fin", "fly", "fox", "gem", "gnu", "gull", "hare", "hawk", "ibis", "jay", "koi", "lark",
    "lynx", "mole", "moth", "newt", "oak", "orb", "orca", "owl", "paw", "pike", "puma", "ray",
    "seal", "star", "swan", "toad", "vole", "wasp", "wolf", "wren", "yak",
];

fn random_index(n: usize) -> usize {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        b = nanos.to_le_bytes();
    }
    u32::from_le_bytes(b) as usize % n
}

/// A fresh name that `taken` does not contain: up to 50 random draws, then the last
/// draw with a number `2..=99` appended.
pub fn generate(taken: impl Fn(&str) -> bool) -> String {
    let mut name = String::new();
    for _ in 0..50 {
        name = format!(
            "{}{}",
            ADJECTIVES[random_index(ADJECTIVES.len())],
            ANIMALS[random_index(ANIMALS.len())]
        );
        if !taken(&name) {
            return name;
        }
    }
    (2..=99)
        .map(|n| format!("{name}{n}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| format!("{name}{}", crate::util::random_hex(3)))
}

/// The session an agent uses for requests from `sender` out of chat `chat_id`,
/// topic `topic_id`: `ia.<sender, 12 chars>.t<topic or 0>` (at most 30 chars) plus
/// `.x` and 8 hex digits of a hash over all three.
pub fn interagent(sender: &str, chat_id: i64, topic_id: Option<i64>) -> String {
    let slug: String = sender
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(12)
        .collect();
    let topic = topic_id.unwrap_or(0);
    let mut head = format!("ia.{slug}.t{topic}");
    head.truncate(30);
    let digest = Sha256::digest(format!("{sender}\0{chat_id}\0{topic}").as_bytes());
    format!("{head}.x{}", &crate::util::hex(&digest)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_adjective_animal_and_unique() {
        let n = generate(|_| false);
        assert!(
            ADJECTIVES.iter().any(|a| n.starts_with(a)) && ANIMALS.iter().any(|a| n.ends_with(a)),
            "{n}"
        );
        let numbered = generate(|name| !name.ends_with(char::is_numeric));
        assert!(numbered.ends_with('2'), "{numbered}");
    }

    #[test]
    fn interagent_names_are_stable_per_origin() {
        let a = interagent("main", 123, Some(45));
        assert!(
            a.starts_with("ia.main.t45.x") && a.len() == "ia.main.t45.x".len() + 8,
            "{a}"
        );
        assert_eq!(a, interagent("main", 123, Some(45)));
        assert_ne!(a, interagent("main", 124, Some(45)));
        assert!(
            interagent("a-very-long-agent-name-indeed", 1, None)
                .starts_with("ia.a-very-long-.t0.x")
        );
    }
}
