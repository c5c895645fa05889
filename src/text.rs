//! Words for matching texts against each other: the similarity of a new
//! mail to a customer's open tickets, and the FAQ's rules. One documented
//! normaliser:
//! 1. Unicode NFD, combining marks dropped, lowercase: "Contraseña" and
//!    "CONTRASENA" are one word;
//! 2. words are runs of letters and digits; Spanish and English stop words
//!    ("el", "de", "que", "the", "and"…) and one-letter words are dropped;
//! 3. each word is stemmed by the Snowball stemmers of Spanish and
//!    English (`rust-stemmers`), and both stems stand for it: "navegadores"
//!    and "navegador" meet, so do "passwords" and "password", whatever the
//!    language the customer wrote in.
//!
//! At most [`MAX_WORDS`] words of a text are read: work is bounded by the
//! cap, not the text.

use std::collections::HashSet;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Words of a text read, at most.
pub const MAX_WORDS: usize = 2000;

const STOP_WORDS: &[&str] = &[
    // Spanish (folded)
    "a", "al", "algo", "como", "con", "cual", "de", "del", "desde", "donde", "el", "ella", "en",
    "entre", "es", "esa", "ese", "eso", "esta", "este", "esto", "estoy", "ha", "han", "hay", "he",
    "la", "las", "le", "les", "lo", "los", "mas", "me", "mi", "mis", "muy", "ni", "no", "nos", "o",
    "os", "para", "pero", "por", "que", "se", "si", "sin", "sobre", "su", "sus", "te", "tengo",
    "ti", "tu", "tus", "un", "una", "uno", "unos", "unas", "y", "ya", "yo", "hola", "gracias",
    "saludos", "buenos", "buenas", "dias", "tardes", "favor", "usted", "ustedes", "cuando",
    // English
    "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "for", "from", "have", "hello",
    "hi", "how", "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "please",
    "so", "thanks", "that", "the", "this", "to", "was", "we", "what", "when", "with", "you",
    "your", "dear", "regards",
];

static STOP: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| STOP_WORDS.iter().copied().collect());
static ES: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Spanish));
static EN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// Lowercase, without accents: "Contraseña" → "contrasena".
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The folded words of `s` (runs of letters and digits), at most
/// [`MAX_WORDS`].
pub fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .map(str::to_string)
        .collect()
}

/// The stems of one folded word, Spanish and English.
pub fn stems_of(word: &str) -> [String; 2] {
    [ES.stem(word).into_owned(), EN.stem(word).into_owned()]
}

/// Is a folded word content: neither a stop word nor one letter?
pub fn is_content(w: &str) -> bool {
    w.chars().count() >= 2 && !STOP.contains(w)
}

/// The content of `s`: its words less stop words and one-letter words,
/// each as its Spanish and English stems.
pub fn stems(s: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for w in words(s) {
        if is_content(&w) {
            out.extend(stems_of(&w));
        }
    }
    out
}

/// Jaccard's index of two sets: shared over all, 0 when both are empty.
pub fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_stemming_meet_the_forms_customers_write() {
        assert_eq!(fold("CONTRASEÑA Olvidé"), "contrasena olvide");
        let a = stems("Olvidé mi contraseña");
        let b = stems("olvide la CONTRASENA");
        assert_eq!(a, b);
        assert!(stems("navegadores recomendados").is_superset(&stems("navegador recomendado")));
        assert!(stems("forgotten passwords").contains(&stems_of("password")[1]));
        assert!(stems("el de la que").is_empty());
    }

    #[test]
    fn jaccard_is_shared_over_all() {
        let a = stems("impresora no imprime");
        let b = stems("la impresora no imprime nada");
        let j = jaccard(&a, &b);
        assert!(j > 0.5 && j <= 1.0, "{j}");
        assert_eq!(jaccard(&a, &stems("factura duplicada")), 0.0);
        assert_eq!(jaccard(&HashSet::new(), &HashSet::new()), 0.0);
    }

    #[test]
    fn a_huge_text_costs_the_cap() {
        let s = "palabra ".repeat(1_000_000);
        assert_eq!(words(&s).len(), MAX_WORDS);
    }
}
