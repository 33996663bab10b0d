//! Masking API keys for display, as the official CLI does it.

/// `***` for keys of at most 13 bytes, else the first 8 characters, `***`,
/// and the last 5. Slices on character boundaries, so any key is safe.
pub fn mask_api_key(key: &str) -> String {
    if key.len() <= 13 {
        return "***".to_owned();
    }
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 13 {
        return "***".to_owned();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 5..].iter().collect();
    format!("{head}***{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask_api_key;

    #[test]
    fn upstream_vectors() {
        assert_eq!(mask_api_key("sk-proj-1234567890ABCDE"), "sk-proj-***ABCDE");
        assert_eq!(mask_api_key("sk-proj-12345"), "***");
        assert_eq!(mask_api_key(""), "***");
    }

    #[test]
    fn non_ascii_keys_do_not_panic() {
        // 14 bytes but only 5 characters: too short to show any part.
        assert_eq!(mask_api_key("ééééééé"), "***");
        assert_eq!(mask_api_key("ключ-ключ-ключ-ключ"), "ключ-клю***-ключ");
    }
}
