// Package redact decides what of a request and its answer may pass between
// Crisp and an LLM provider. It owns exact-value redaction of this
// customer's and account's hidden and masked field values, the detectors
// for secrets no catalog lists, reversible placeholders for masked values,
// and the streaming redactor that filters an answer delta by delta.
//
// It must never let a hidden value or a detector match through, whole or
// in pieces; never restore a hidden value; never put a value in a marker,
// a placeholder, the manifest, a Note or an error; and never log.
//
// # Use
//
//	r, err := redact.Compile(values, detectors) // per request: this customer's values
//	s := r.NewSession()                         // one per request and its answer
//	body, err = s.JSON(body, "model")           // request side
//	st := s.Stream(mayReveal)                   // answer, streamed
//	out := st.Write(delta) … out = st.Flush()
//	text := s.Answer(answer, mayReveal)         // answer, whole (same output)
//	s.Manifest()                                // {"account.privateRevenue":1,"detector:email":2}
//
// Hidden values become [hidden:FIELD], detector matches [hidden:KIND]
// (email, phone, card, iban, api_key, ssn); a masked value becomes
// [masked:FIELD#N], the same N for the same value throughout the session.
// In an answer, a placeholder or a masked value the model wrote out comes
// back to the caller as the value (as the store holds it) where
// mayReveal(field) is true, else as the placeholder. Hidden values have no
// placeholder and are never restored.
//
// # Which values are matched
//
// Only Hide and Mask values; Show values are ignored. If two values have
// the same text, hidden wins; a masked value that contains a hidden one is
// treated as hidden (restoring it would reveal the hidden one). Each value
// is filed by its shape:
//
//   - A number: optional sign and currency symbol or ISO code around
//     digits, with optional grouping, decimals or compact suffix ("48250",
//     "$48,250.00", "48.25k"). It needs 4 or more digits (leading zeros and
//     trailing decimal zeros not counted); shorter ones (a score of 72)
//     are not matched and reported by Redactor.Notes: "72 hours" is
//     everywhere.
//   - A phone number: only digits, spaces and + ( ) . - /, with 7 to 15
//     digits. A plain digit string of that length is both a number and a
//     phone number.
//   - Anything else is text. It needs 3 or more letters or digits, and a
//     single word must not be a common enumeration word (high, low, none,
//     active, trial, …): such a word is everywhere, and a marker in its
//     place would itself tell the provider the value ("a
//     [hidden:account.paymentRisk] priority"). Fields like that are kept
//     from the provider by not attaching them; Notes reports them. Values
//     over 16 KiB are refused by Compile (the stream would hold them whole).
//
// # How text values match
//
// All text values are compiled into one Aho–Corasick automaton over a
// normalized view: letters folded to lower case (Unicode simple folding),
// every whitespace run (ASCII, no-break, thin, line separators …) equal to
// one space, format characters such as U+200B and soft hyphens dropped. A
// match across a whitespace run longer than 64 bytes is rejected. Matches
// are mapped back to the source bytes by walking the same rules backwards,
// so no per-byte offset table is kept. A value that begins (ends) with a
// letter, digit or '_' matches only where no such rune precedes (follows)
// it: whole words, so "Dana Berg" is not found in "Dana Bergman".
//
// The automaton is written here, not taken from a library:
// github.com/petar-dambovaliev/aho-corasick (the suggested one, a port of
// the Rust crate) searches a whole haystack only — it exposes no state to
// resume a stream from, nor how long a suffix might still become a match,
// which is what the streaming redactor must hold back — and its
// leftmost-longest mode filters whole words after choosing a match, so a
// rejected long match hides a valid shorter one (its own doc warns of
// this). Here the automaton reports every match, overlapping, and the
// engine chooses leftmost-longest among the valid ones.
//
// # How numbers match
//
// Number renderings are not enumerated as variants (separators × decimals
// × currency × sign × compact forms run to hundreds per value); instead
// every number in the text is read and reduced to a canonical decimal
// that is looked up ("48,250.00", "48 250", "48.250", "48'250", "48.25k"
// → 48250). A number in the text is:
//
//   - digits, optionally grouped in threes by one separator used
//     throughout: comma, point, apostrophe, space, no-break or thin space;
//   - optionally decimals after the other separator (a point after comma
//     or space grouping, a comma after point grouping, either if
//     ungrouped); trailing decimal zeros do not count (48,250.00 = 48250),
//     other decimals do (48,250.5 is not 48250). "48.250" and "48,250" are
//     read both as grouped (48250) and as decimal (48.25);
//   - optionally a compact suffix, with or without a space, any case: k or
//     thousand; m, mm, mn or million; b, bn or billion. A compact number
//     matches if it is exact (48.25k) or the value rounded half away from
//     zero to at least 3 significant digits (48.3k). 48k (2 digits) is not
//     matched: it collides with ordinary quantities ("48k tokens"); nor is
//     a plain rounded number (48,300), which reads as exact;
//   - matched together with a sign or currency symbol directly before it
//     ($ € £ + - −), which are replaced too; currency codes (USD) stay;
//   - not glued to a word (A48250, v48250) and not part of a longer
//     number: no digit, or separator and digit, on either side (148250,
//     48,250,000, 1,048,250, 2024-48250).
//
// The sign is not compared: -48,250 matches 48250.
//
// A phone value matches wherever digit groups joined by up to two of
// space - . ( ) / spell its digits, or its national form: without the 1
// of a North American number (and with it, for a 10-digit value), and for
// +CC values without a one- to three-digit calling code, with or without a
// trunk 0. So +1 415 555 0199, (415) 555-0199, 415.555.0199, 1-415-555-0199
// and 4155550199 are all the same value. A leading + or ( is replaced too.
//
// # Detectors
//
// Configurable per workspace (Detectors, ParseDetectors). Each is built to
// miss a little rather than redact ordinary support text (testdata holds
// the corpus it is measured on):
//
//   - email: local@domain, local part of [A-Za-z0-9._%+-] up to 64 bytes,
//     two or more domain labels, a letters-only top-level label of 2+.
//   - phone: + followed by 8 to 15 digits in groups; or a North American
//     number with area code and exchange starting 2–9: (415) 555-0199,
//     415-555-0199, 415.555.0199, 415 555 0199, optional leading 1. Bare
//     digit runs are not phone numbers: order ids look the same.
//   - card: 13 to 19 digits, plain or grouped as cards print them (4-4-4-4,
//     4-4-4-4-3, 4-6-5, 4-6-4, one separator), an issuer prefix of a card
//     network (2221–2720, 3, 4, 5, 6) and a valid Luhn check digit.
//   - iban: a country code with a known IBAN length, two check digits and
//     that many characters, plain or in groups of four, mod 97 = 1.
//   - api_key: a run of [A-Za-z0-9_+/=.~-] with a known secret prefix (sk-,
//     sk-proj-, sk-ant-, sk_live_, ghp_, github_pat_, glpat-, xoxb-, AKIA,
//     AIza, hf_, eyJ for JWTs, …), long enough and with letters and digits;
//     or, without one, 32+ bytes that look random: letters and a digit,
//     case/digit class changing on 30% or more of the alphanumerics
//     (random base62 ~60%, hex ~47%, words and CamelCase far less) and 3+
//     bits of entropy per byte, and not a UUID. Hex digests (git SHAs) are
//     redacted too: tokens are often hex.
//   - ssn: AAA-GG-SSSS with dashes or spaces (the same twice), area not
//     000, 666 or 9xx, group not 00, serial not 0000. Bare 9 digits are not.
//
// # Choosing among matches
//
// Leftmost, then longest, then hidden value before masked value before
// detector. A match that overlaps one already chosen is not dropped: its
// remaining part is redacted too, so a hidden note that ends inside a key
// cannot let the rest of the key through.
//
// # Streaming
//
// Every matcher reports a hold: no match it may still find starts before
// it. Stream.Write returns everything before the smallest hold and keeps
// the rest, so it never sends a prefix of a value that later completes,
// and what is held at the end is released by Flush only after it is
// checked as end of text. The output is the same as for the whole text,
// however the answer is cut into deltas. What is held back:
//
//   - values: the longest suffix that is still a prefix of a value (at
//     most the value's length, whitespace runs of up to 64 bytes counting
//     as one space);
//   - email and api_key: the word being typed, since it may still turn
//     into an address or a key: at most 64 bytes of local part, plus up to
//     100 bytes of domain once the '@' has come;
//   - api_key: a run is held until it ends or is longer than 64 bytes;
//     then it is decided on its first 64 bytes. A key is redacted from its
//     start at once and the rest of the run dropped as it arrives; anything
//     else is let through. The trade-off: a long token is judged on 64
//     bytes, not all of it, and a 200-byte JWT never waits whole;
//   - numbers, phones, cards, SSNs, IBANs: the number being typed, from
//     its sign, currency symbol, '+' or '(' — a bounded shape of at most
//     a few dozen bytes (19 digits of card and their separators, 34
//     characters of IBAN and their spaces);
//   - placeholders in the answer: a '[' that may still become
//     [masked:FIELD#N], at most 117 bytes.
//
// # Request bodies
//
// Session.JSON redacts every string value of a JSON body, decoding escapes
// first (a value written as d\u0061na@… or with \n inside is still
// found) and writing every other byte as it was. Object keys are not
// redacted; values under the top-level keys it is told to skip (such as
// "model") are left alone, and so are base64 image and audio data URLs,
// which are binary and would look like a key. A number literal that is a
// number value becomes a string holding its marker.
//
// # Failing closed
//
// Compile fails on a value it cannot honour (no field name, an unknown
// visibility, an overlong text); JSON fails on malformed JSON; Write after
// Flush panics rather than send unchecked text. There is no error that is
// swallowed: where the package cannot tell, it holds or redacts.
package redact
