package contextpack

import (
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/configs"
	tiktoken "github.com/pkoukk/tiktoken-go"
	loader "github.com/pkoukk/tiktoken-go-loader"
	"github.com/pkoukk/tiktoken-go-loader/assets"
)

// oracle is tiktoken-go, which the tokenizer replaces: counts must agree.
var oracle = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	tiktoken.SetBpeLoader(loader.NewOfflineLoader())
	return tiktoken.GetEncoding("cl100k_base")
})

func ours(tb testing.TB) *tokenizer {
	tb.Helper()
	tok, err := encoding()
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func theirs(tb testing.TB) *tiktoken.Tiktoken {
	tb.Helper()
	enc, err := oracle()
	if err != nil {
		tb.Fatal(err)
	}
	return enc
}

// tricky are inputs where a tokenizer tends to go wrong.
var tricky = []string{
	"", " ", "  ", "   x", "x   ", "a  b", " \t \n x", "\t\ttabbed",
	"\n", "\n\n\n", "\r\n", "\r\n\r\n  \r\n", "a\r\nb\r\n\r\n", " \r\n x", "x \n\n y",
	strings.Repeat(" ", 100) + "x", strings.Repeat("\n", 40), strings.Repeat("\r\n", 20) + "end",
	"I'M", "I'm", "YOU'LL", "we'Re", "don't", "'s", "''s", "it's'", "O'Neil's", "SHE'D'VE",
	"1234567", "3.14159", "12 345 6789", "2026-11-20", strings.Repeat("9", 100), "٣٤٥", "½ ² ⅓", "1st 2nd",
	"café", "naïve résumé", "Ünïcödé", "e\u0301", "a\u0300\u0301\u0302", "\u0301start",
	"日本語のテキスト", "中文字符测试", "한국어", "Ελληνικά", "Привет, мир!", "עברית", "العربية", "हिन्दी", "ไทย",
	"😀", "👩‍👩‍👧‍👦", "🇫🇷🇩🇪", "ok 👍🏽!", "🙂🙂🙂", "€€€€€", "ääää",
	"  " + strings.Repeat("\ufffd", 6), // equal ranks: the leftmost pair merges first
	"\xff", "\xff\xfe\xfd\xfc\xfb", "\xc3", "a\xffb", "\xed\xa0\x80", "\xf0\x9f\x98", "\x00", "\x00\x01\x7f",
	"\u200b", "a\u00a0b", "\u3000x", "x\u2028y", "\ufeffBOM",
	"<|endoftext|>", "<|fim_prefix|>x<|fim_suffix|>", "<|endofprompt|> <|endoftext|>",
	strings.Repeat("a", 300), "supercalifragilisticexpialidocious", "antidisestablishmentarianism",
	"Pneumonoultramicroscopicsilicovolcanoconiosis", strings.Repeat("ab ", 100),
	strings.Repeat("!", 50), "...???!!!", "--- *** ===", "#####", "$$$ %%% ^^^", "(){}[]<>",
	"func main() {\n\tfmt.Println(\"hi\")\n}\n",
	"for i := range 10 {\n    x += i // comment\n}",
	`{"id":"usr_2481","tags":["a","b"],"n":1.5e10,"ok":true,"nested":{"k":null}}`,
	"https://acme.example/billing?x=1&y=2#frag", "dana@acme.example", "+1 415 555 0199",
	"account.plan: Growth trial", "customer.email: [masked:customer.email#1]",
}

// workspace is text the example workspace produces or holds: its pack and
// each line of its configuration and seed data.
func workspace(t *testing.T) []string {
	t.Helper()
	cat := acme(t)
	p := NewBuilder(cat, 1000, words{}).Build(Input{
		Action: "ai.draft", Subject: dana(), Journey: journey(),
		Visibility: func(f string) catalog.Visibility { return cat.Default(f, "ai") },
		Mask:       func(f, v string) string { return "[masked:" + f + "#1]" },
	})
	texts := []string{p.Text(), journeyTitle}
	texts = append(texts, strings.Split(p.Text(), "\n")...)
	err := fs.WalkDir(configs.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := configs.FS.ReadFile(path)
		if err != nil {
			return err
		}
		texts = append(texts, string(data))
		texts = append(texts, strings.Split(string(data), "\n")...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

func checkCount(t *testing.T, s string) {
	t.Helper()
	if got, want := ours(t).count(s), len(theirs(t).Encode(s, nil, nil)); got != want {
		t.Errorf("count(%q) = %d, tiktoken %d", s, got, want)
	}
}

func TestCountTricky(t *testing.T) {
	for _, s := range tricky {
		checkCount(t, s)
	}
}

func TestCountWorkspace(t *testing.T) {
	for _, s := range workspace(t) {
		checkCount(t, s)
	}
}

func FuzzCount(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkCount(t, s) })
}

func TestCounterCaches(t *testing.T) {
	c, err := NewCounter()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const line = "account.plan: Growth trial"
	want := len(theirs(t).Encode(line, nil, nil))
	for range 3 {
		if n := c.Count(line); n != want {
			t.Fatalf("Count(%q) = %d, want %d", line, n, want)
		}
		c.cache.Wait()
	}
}

// TestTokenizerMemory keeps the vocabulary compact; its reason to exist.
func TestTokenizerMemory(t *testing.T) {
	var tok *tokenizer
	live, total := heapCost(func() {
		var err error
		if tok, err = newTokenizer(assets.Assets, cl100kFile); err != nil {
			t.Fatal(err)
		}
	})
	v := tok.vocab
	size := len(v.blob) + 4*len(v.off) + 4*len(v.slots)
	t.Logf("%d tokens: blob %d B, offsets %d B, slots %d B; live heap %.2f MB, allocated %.2f MB",
		len(v.off)-1, len(v.blob), 4*len(v.off), 4*len(v.slots), float64(live)/1e6, float64(total)/1e6)
	if len(v.off)-1 != 100256 {
		t.Errorf("%d tokens, want 100256", len(v.off)-1)
	}
	if size > 3<<20 {
		t.Errorf("vocabulary takes %d bytes", size)
	}
	runtime.KeepAlive(tok)
}

// heapCost returns the heap that build leaves live and the bytes it
// allocated meanwhile.
func heapCost(build func()) (live, total int64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc), int64(after.TotalAlloc - before.TotalAlloc)
}

// BenchmarkLoad compares building the tokenizer with building tiktoken-go's
// cl100k_base from the same embedded file.
func BenchmarkLoad(b *testing.B) {
	b.Run("ours", func(b *testing.B) {
		benchLoad(b, func() any {
			tok, err := newTokenizer(assets.Assets, cl100kFile)
			if err != nil {
				b.Fatal(err)
			}
			return tok
		})
	})
	b.Run("tiktoken", func(b *testing.B) {
		benchLoad(b, func() any {
			ranks, err := loader.NewOfflineLoader().LoadTiktokenBpe(cl100kFile)
			if err != nil {
				b.Fatal(err)
			}
			bpe, err := tiktoken.NewCoreBPE(ranks, map[string]int{"<|endoftext|>": 100257}, cl100kSplit)
			if err != nil {
				b.Fatal(err)
			}
			return bpe
		})
	})
}

func benchLoad(b *testing.B, build func() any) {
	var live, total int64
	for b.Loop() {
		var kept any
		l, t := heapCost(func() { kept = build() })
		live, total = live+l, total+t
		runtime.KeepAlive(kept)
	}
	b.ReportMetric(float64(live)/float64(b.N)/1e6, "live-MB")
	b.ReportMetric(float64(total)/float64(b.N)/1e6, "alloc-MB")
}

// benchLine is a ~200-character context line, counted uncached.
var benchLine = strings.Repeat("customer.note: Dana asked about the Growth trial's billing, invoices (#4411) & 5 seats; ", 3)[:200]

func BenchmarkCount(b *testing.B) {
	b.Run("ours", func(b *testing.B) {
		tok := ours(b)
		b.ReportAllocs()
		for b.Loop() {
			tok.count(benchLine)
		}
	})
	b.Run("tiktoken", func(b *testing.B) {
		enc := theirs(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = len(enc.Encode(benchLine, nil, nil))
		}
	})
	b.Run("cached", func(b *testing.B) {
		c, err := NewCounter()
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		c.Count(benchLine)
		c.cache.Wait()
		b.ReportAllocs()
		for b.Loop() {
			c.Count(benchLine)
		}
	})
}
