//go:build !unix

package audit

import "os"

// Without flock there is no safe way to own a journal: every process writes
// straight to the database.
func lockFile(*os.File) error { return errJournalBusy }

func unlockFile(*os.File) error { return nil }

func renameFile(from, to string) error { return os.Rename(from, to) }
