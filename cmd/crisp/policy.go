package main

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/server"
)

const policySynopsis = `policy test [DIR]     run the policy test files (*_test.yaml) beside the rules, the way
                      'opa test' does; exits 1 on a failure. DIR defaults to the
                      configuration's policies folder.
policy explain        decide one question and explain it:
                      --member EMAIL --customer ID --action ACTION [--signed] [--model M]`

func runPolicy(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "test" && args[0] != "explain") {
		fmt.Fprintln(e.stderr, "Usage: crisp policy test|explain [flags]\n\n"+policySynopsis)
		return errUsage
	}
	if args[0] == "test" {
		return runPolicyTest(e, args[1:])
	}
	return runPolicyExplain(ctx, e, args[1:])
}

func runPolicyTest(e env, args []string) error {
	fset := newFlags("policy test", policySynopsis, e)
	var c common
	c.register(fset, e)
	verbose := fset.Bool("v", false, "print every case, not only failures")
	if err := fset.Parse(args); err != nil {
		return err
	}
	cfg, d, err := c.loadDefs(e)
	if err != nil {
		return err
	}
	data, err := fs.ReadFile(d.fsys, cfg.Catalog)
	if err != nil {
		return fmt.Errorf("read catalog: %w", err)
	}
	cat, err := catalog.Parse(cfg.Catalog, data)
	if err != nil {
		return err
	}
	var report policy.Report
	switch {
	case fset.NArg() > 0:
		report, err = policy.RunTests(fset.Arg(0), cat)
	case d.dir != "":
		report, err = policy.RunTests(filepath.Join(d.dir, cfg.Policies), cat)
	default:
		report, err = policy.RunTestsFS(d.fsys, path.Clean(cfg.Policies), cat)
	}
	if err != nil {
		return err
	}
	if err := report.Write(e.stdout, *verbose); err != nil {
		return err
	}
	if !report.Passed() {
		return fmt.Errorf("policy tests failed")
	}
	return nil
}

func runPolicyExplain(ctx context.Context, e env, args []string) error {
	fset := newFlags("policy explain", policySynopsis, e)
	var c common
	c.register(fset, e)
	var cr proxy.CheckRequest
	fset.StringVar(&cr.Member, "member", "", "the member's email (required)")
	fset.StringVar(&cr.Customer, "customer", "", "the customer's id (empty for ai.general)")
	fset.StringVar(&cr.Account, "account", "", "one of the customer's accounts (default: the first)")
	fset.StringVar(&cr.Action, "action", "ai.draft", "the AI action")
	fset.BoolVar(&cr.SignedIdentity, "signed", false, "decide as if the customer identity verified")
	fset.StringVar(&cr.Model, "model", "", "the model, for rules on request.model")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if cr.Member == "" {
		fset.Usage()
		return errUsage
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, quietLogger())
	if err != nil {
		return err
	}
	defer srv.Close()
	d, err := srv.Check(ctx, cr)
	if err != nil {
		return err
	}
	return d.WriteText(e.stdout)
}
