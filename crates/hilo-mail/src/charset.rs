//! Text whose charset is missing or wrong: raw 8-bit header bytes
//! (Latin-1, windows-1252, GB2312, KOI8-R…), encoded words whose declared
//! charset does not fit their bytes (Shift_JIS labelled ISO-2022-JP), and
//! bodies without a charset. mail-parser decodes those as UTF-8 and gets
//! U+FFFD; here the bytes are decoded by their declared charset when it
//! fits them, else by what chardetng (Firefox's detector) guesses.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::Encoding;

/// The text of bytes in an unknown charset: UTF-8 when they are valid
/// UTF-8, else the detector's guess.
pub fn guess(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let mut d = EncodingDetector::new(Iso2022JpDetection::Allow);
    d.feed(bytes, true);
    let enc = d.guess(None, Utf8Detection::Allow);
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

/// `bytes` in the charset `label`, if the label is known and the bytes
/// are valid in it.
fn declared(label: &str, bytes: &[u8]) -> Option<String> {
    let enc = Encoding::for_label(label.trim().as_bytes())?;
    let (text, bad) = enc.decode_without_bom_handling(bytes);
    (!bad).then(|| text.into_owned())
}

/// A raw header value (after its `Name:`), unfolded, as text: RFC 2047
/// encoded words decoded by their charset when it fits their bytes, else
/// by a guess; raw 8-bit text by `hint` (the charset the message's body
/// declares: a client writes its raw headers in it) when it fits, else by
/// a guess. Linear in the value.
pub fn header(raw: &[u8], hint: Option<&str>) -> String {
    let plain_text = |bytes: &[u8]| -> String {
        if bytes.is_ascii() {
            return String::from_utf8_lossy(bytes).into_owned();
        }
        hint.and_then(|h| declared(h, bytes))
            .unwrap_or_else(|| guess(bytes))
    };
    let raw: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    let mut out = String::with_capacity(raw.len());
    let mut plain: Vec<u8> = Vec::new();
    let mut i = 0;
    let mut last_was_word = false;
    while i < raw.len() {
        if raw[i..].starts_with(b"=?") {
            if let Some((text, len)) = encoded_word(&raw[i..]) {
                // White space between two encoded words is not text.
                if !(last_was_word && plain.iter().all(|b| b.is_ascii_whitespace())) {
                    out.push_str(&plain_text(&plain));
                }
                plain.clear();
                out.push_str(&text);
                i += len;
                last_was_word = true;
                continue;
            }
        }
        plain.push(raw[i]);
        i += 1;
    }
    out.push_str(&plain_text(&plain));
    out.trim().to_string()
}

/// One `=?charset?B|Q?payload?=` at the start of `s`: its text and length.
fn encoded_word(s: &[u8]) -> Option<(String, usize)> {
    // At most 75 bytes by RFC 2047; allow more, but not the whole header.
    let end = s
        .iter()
        .take(1024)
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(s.len().min(1024));
    let word = &s[..end];
    // The closing `?=` comes after the opening `=?`: in `=?=` they overlap.
    let close = 2 + word.get(2..)?.windows(2).rposition(|w| w == b"?=")?;
    let inner = std::str::from_utf8(&word[2..close]).ok()?;
    let mut parts = inner.splitn(3, '?');
    let charset = parts.next()?;
    // RFC 2231 language: `utf-8*es`.
    let charset = charset.split('*').next()?;
    let enc = parts.next()?;
    let payload = parts.next()?;
    let bytes = match enc {
        "B" | "b" => mail_parser::decoders::base64::base64_decode(payload.as_bytes())?,
        "Q" | "q" => q_decode(payload),
        _ => return None,
    };
    let text = declared(charset, &bytes).unwrap_or_else(|| guess(&bytes));
    Some((text, close + 2))
}

/// RFC 2047 Q: `_` is a space, `=XX` a byte.
fn q_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let v = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match v {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'='),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_eight_bit_headers_are_guessed() {
        // Latin-1 / windows-1252.
        assert_eq!(
            header(b"Factura de diciembre: \xbfpor qu\xe9 no lleg\xf3?", None),
            "Factura de diciembre: ¿por qué no llegó?"
        );
        // KOI8-R.
        let koi8 = encoding_rs::KOI8_R.encode("Счёт за декабрь не пришёл").0;
        assert_eq!(header(&koi8, None), "Счёт за декабрь не пришёл");
        // GBK.
        let gbk = encoding_rs::GBK.encode("发票没有收到，请帮忙查询").0;
        assert_eq!(header(&gbk, None), "发票没有收到，请帮忙查询");
        // A short name is guessed badly; the body's charset settles it.
        let gb = encoding_rs::GBK.encode("王芳").0;
        assert_eq!(header(&gb, Some("gb2312")), "王芳");
        // UTF-8 stays.
        assert_eq!(header("Año nuevo".as_bytes(), None), "Año nuevo");
    }

    #[test]
    fn encoded_words_whose_charset_does_not_fit_are_guessed() {
        use base64::Engine;
        let sjis = encoding_rs::SHIFT_JIS.encode("請求書が届きません").0;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&sjis);
        let raw = format!("=?ISO-2022-JP?B?{b64}?=");
        assert_eq!(header(raw.as_bytes(), None), "請求書が届きません");
        // A correct label is used as is; words join without their spaces.
        assert_eq!(
            header(b"=?iso-8859-1?q?caf=E9?= =?utf-8?b?w7E=?= y m\xe1s", None),
            "caféñ y más"
        );
    }

    #[test]
    fn broken_words_are_text() {
        assert_eq!(
            header(b"=?utf-8?x?abc?= hola", None),
            "=?utf-8?x?abc?= hola"
        );
        assert_eq!(
            header(b"=?utf-8?q?sin_cierre", None),
            "=?utf-8?q?sin_cierre"
        );
        assert_eq!(header(b"=?utf-8?q?=ZZ?=", None), "=ZZ");
        // Opening and closing marks that overlap (found by the fuzzer).
        for s in ["=?=", "a =?= b", "=??=", "=?", "=?=?="] {
            assert_eq!(header(s.as_bytes(), None), s);
        }
    }
}
