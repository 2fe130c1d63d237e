package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/crisphq/crisp/keys"
)

const keysSynopsis = `keys create mints a new crisp API key and prints it once. Only its sha256
and its first 12 characters are kept: add the printed entry to the keys:
list of crisp.yaml.`

func runKeys(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(e.stderr, "Usage: crisp keys create [flags]\n\n"+keysSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	fs := newFlags("keys create", keysSynopsis, e)
	id := fs.String("id", "", "key id, e.g. key_inbox_bot (required)")
	name := fs.String("name", "", "a label for people")
	kind := fs.String("kind", "member", "member or workflow")
	member := fs.String("member", "", "the member's email, for member keys")
	role := fs.String("role", "", "role as policy sees it, e.g. support (required)")
	teams := fs.String("teams", "", "comma-separated teams")
	actions := fs.String("actions", "ai.*", "comma-separated actions or patterns the key may use")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *id == "" || *role == "" {
		fs.Usage()
		return errUsage
	}
	key, err := keys.New()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "New key (shown once; store it now): %s\n\n", key)
	fmt.Fprintf(e.stdout, "Add to crisp.yaml under keys:\n")
	fmt.Fprintf(e.stdout, "  - id: %s\n    name: %s\n    kind: %s\n", *id, quote(*name), *kind)
	if *member != "" {
		fmt.Fprintf(e.stdout, "    member: %s\n", *member)
	}
	fmt.Fprintf(e.stdout, "    role: %s\n    teams: [%s]\n    actions: [%s]\n", *role, list(*teams), list(*actions))
	fmt.Fprintf(e.stdout, "    prefix: %s\n    sha256: %s\n", keys.Prefix(key), keys.HashHex(key))
	return nil
}

func list(csv string) string {
	var out []string
	for _, s := range strings.Split(csv, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, quote(s))
		}
	}
	return strings.Join(out, ", ")
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
