package catalog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// ChangeKind says what changed about a field or event.
type ChangeKind string

const (
	Added             ChangeKind = "added"
	Removed           ChangeKind = "removed"
	Retyped           ChangeKind = "retyped"      // a field's type changed
	Reclassified      ChangeKind = "reclassified" // the classification changed
	VisibilityChanged ChangeKind = "visibility"   // one use's visibility changed
)

// Change is one difference between two catalogs.
type Change struct {
	Kind    ChangeKind
	Subject string // "field" or "event"
	Name    string
	Use     string // for VisibilityChanged changes
	From    string // the old type, classification or visibility
	To      string // the new one
	// Widened is set on a visibility change that shows more than before
	// (hidden→masked, hidden→shown, masked→shown). An added entry is
	// compared with the uncataloged default, hidden for every use, so a
	// new field shown to ai is a widening too.
	Widened bool
}

// DiffResult lists the changes from one catalog to another, in name order.
type DiffResult struct {
	OldVersion, NewVersion string
	Changes                []Change
}

// Widened returns the changes that widen a visibility.
func (d DiffResult) Widened() []Change {
	var out []Change
	for _, c := range d.Changes {
		if c.Widened {
			out = append(out, c)
		}
	}
	return out
}

// Diff lists what changed from before to after. Either may be nil, which
// defines nothing.
func Diff(before, after *Catalog) DiffResult {
	d := DiffResult{OldVersion: before.Version(), NewVersion: after.Version()}
	for _, name := range unionNames(before.Fields(), after.Fields(), func(f Field) string { return f.Name }) {
		of, inOld := before.Field(name)
		nf, inNew := after.Field(name)
		d.Changes = append(d.Changes, diffEntry("field", name, inOld, inNew,
			entryFacts{string(of.Type), of.Classification, of.Uses},
			entryFacts{string(nf.Type), nf.Classification, nf.Uses})...)
	}
	for _, name := range unionNames(before.Events(), after.Events(), func(e Event) string { return e.Name }) {
		oe, inOld := before.Event(name)
		ne, inNew := after.Event(name)
		d.Changes = append(d.Changes, diffEntry("event", name, inOld, inNew,
			entryFacts{"", oe.Classification, oe.Uses},
			entryFacts{"", ne.Classification, ne.Uses})...)
	}
	return d
}

// entryFacts is what Diff compares about one entry.
type entryFacts struct {
	typ  string
	cls  Classification
	uses Visibilities
}

func diffEntry(subject, name string, inOld, inNew bool, o, n entryFacts) []Change {
	ch := func(k ChangeKind, use, from, to string) Change {
		return Change{Kind: k, Subject: subject, Name: name, Use: use, From: from, To: to}
	}
	var out []Change
	switch {
	case !inNew:
		return []Change{ch(Removed, "", describe(o), "")}
	case !inOld:
		out = append(out, ch(Added, "", "", describe(n)))
		o = entryFacts{} // the uncataloged default: hidden for every use
	default:
		if o.typ != n.typ {
			out = append(out, ch(Retyped, "", o.typ, n.typ))
		}
		if o.cls != n.cls {
			out = append(out, ch(Reclassified, "", string(o.cls), string(n.cls)))
		}
	}
	for _, use := range AllUses() {
		from, to := o.uses.For(use), n.uses.For(use)
		if from != to {
			c := ch(VisibilityChanged, use, from.String(), to.String())
			c.Widened = to > from
			out = append(out, c)
		}
	}
	return out
}

func describe(f entryFacts) string {
	if f.typ == "" {
		return string(f.cls)
	}
	return f.typ + ", " + string(f.cls)
}

func unionNames[T any](a, b []T, name func(T) string) []string {
	var names []string
	for _, x := range a {
		names = append(names, name(x))
	}
	for _, x := range b {
		names = append(names, name(x))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Format writes the diff for a reviewer: widenings first and loudly, then
// every change, one per line.
func (d DiffResult) Format(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "catalog %s -> %s: %s\n", short(d.OldVersion), short(d.NewVersion), count(len(d.Changes), "change"))
	if wide := d.Widened(); len(wide) > 0 {
		fmt.Fprintf(&b, "\nWIDENED: %s now show more than before:\n", count(len(wide), "visibility"))
		for _, c := range wide {
			fmt.Fprintf(&b, "  !! %s %s for %s: %s -> %s\n", c.Subject, c.Name, c.Use, c.From, c.To)
		}
	}
	if len(d.Changes) > 0 {
		b.WriteByte('\n')
	}
	for _, c := range d.Changes {
		b.WriteString(formatChange(c))
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

func formatChange(c Change) string {
	what := c.Subject + " " + c.Name
	switch c.Kind {
	case Added:
		return fmt.Sprintf("  + %s added (%s)", what, c.To)
	case Removed:
		return fmt.Sprintf("  - %s removed (was %s)", what, c.From)
	case Retyped:
		return fmt.Sprintf("  ~ %s retyped: %s -> %s", what, c.From, c.To)
	case Reclassified:
		return fmt.Sprintf("  ~ %s reclassified: %s -> %s", what, c.From, c.To)
	}
	mark, how := "~", "narrowed"
	if c.Widened {
		mark, how = "!", "WIDENED"
	}
	return fmt.Sprintf("  %s %s for %s: %s -> %s (%s)", mark, what, c.Use, c.From, c.To, how)
}

func short(version string) string { return version[:min(12, len(version))] }

func count(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// gitTimeout bounds how long DiffGit waits for git.
const gitTimeout = 30 * time.Second

// DiffGit compares current with the catalog file at path (relative to the
// repository root, e.g. configs/catalog.yaml) as it was at rev, read with
// `git show REV:PATH` in repoDir.
func DiffGit(repoDir, rev, path string, current *Catalog) (DiffResult, error) {
	// A rev starting with "-" would be read by git as an option.
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, ": \t\n") {
		return DiffResult{}, fmt.Errorf("catalog diff: invalid revision %q", rev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	spec := rev + ":" + path
	cmd := exec.CommandContext(ctx, "git", "-C", repoDir, "show", "--no-textconv", "--end-of-options", spec)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return DiffResult{}, fmt.Errorf("catalog diff: git show %s: %s: %w", spec, msg, err)
	}
	old, err := Parse(spec, out)
	if err != nil {
		return DiffResult{}, fmt.Errorf("catalog diff: old catalog %s:\n%w", spec, err)
	}
	return Diff(old, current), nil
}
