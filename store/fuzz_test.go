package store_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// FuzzRebind checks that every ? outside a quoted literal, and only those,
// becomes $1, $2, ... in order.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{"a = ? AND b = ?", `x LIKE ? ESCAPE '\'`, "'?' ?", "''''?", "??", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got := store.RebindDollar(q)
		quoted, marks := false, 0
		for _, c := range q {
			switch {
			case c == '\'':
				quoted = !quoted
			case c == '?' && !quoted:
				marks++
			}
		}
		if n := strings.Count(got, "$") - strings.Count(q, "$"); n != marks {
			t.Fatalf("rebind(%q) = %q: %d new $ for %d placeholders", q, got, n, marks)
		}
		if marks == 0 && got != q {
			t.Fatalf("rebind(%q) changed a query without placeholders: %q", q, got)
		}
	})
}

// FuzzListCursor feeds arbitrary cursors to ListCustomers: a cursor is
// either understood or refused with ErrInvalid, never a crash or a SQL error.
func FuzzListCursor(f *testing.F) {
	for _, s := range []string{"", "aWQ6dXNyXzE", "aWQ6", "!!", "aWQ6JyBPUiAxPTE7LS0", "Zm9v"} {
		f.Add(s)
	}
	db := storetest.OpenSQLite(f)
	_, err := db.Apply(f.Context(), "acme", store.Batch{Customers: []store.CustomerUpdate{{ID: "usr_1"}, {ID: "usr_2"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		page, _, err := db.ListCustomers(t.Context(), "acme", store.ListOptions{Cursor: cursor, Limit: 1})
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("cursor %q: %v", cursor, err)
		}
		if len(page) > 1 {
			t.Fatalf("cursor %q: page of %d with limit 1", cursor, len(page))
		}
	})
}

// FuzzDecodeAuditBlock feeds the block decoder arbitrary bodies: it must
// refuse or decode them without panicking, and what it decodes must encode
// to a block that decodes the same (bytes may differ: a varint can be
// written longer than it need be).
func FuzzDecodeAuditBlock(f *testing.F) {
	rows := []store.AuditRow{
		{Seq: 7, ID: "aud_1", Kind: "ai.use", At: time.UnixMicro(1_700_000_000_000_001).UTC(), Member: "m@x", Status: 200,
			PrevHash: "p", Hash: "h7", Body: `{"seq":7}`},
		{Seq: 8, ID: "aud_2", Kind: "admin.key", At: time.UnixMicro(1_700_000_000_000_000).UTC(), Hash: "h8", Body: "{}"},
	}
	f.Add(store.EncodeAuditBlock(rows))
	f.Add(store.EncodeAuditBlock(rows[:1]))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Add([]byte{2, 14})
	f.Add(store.EncodeAuditBlockUnpacked(rows))
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0x7f, 0}) // claims 256 MiB
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := store.DecodeAuditBlock("acme", body)
		if err != nil {
			return
		}
		if len(got) == 0 {
			if body[0] == 1 && len(body) > 1 { // an unpacked block with bytes holds records (a packed one may unpack to none)
				t.Fatalf("decoded no rows from %x", body)
			}
			return
		}
		again, err := store.DecodeAuditBlock("acme", store.EncodeAuditBlock(got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("%x: re-encoded block decodes as %+v (%v), want %+v", body, again, err, got)
		}
	})
}
