package server

import "github.com/crisphq/crisp/mcp"

// MCP builds the MCP tool server over this crisp's pipeline, store and
// catalog: routes mounts its streamable HTTP handler at /mcp, and
// `crisp mcp` serves the same tools over stdio.
func (s *Server) MCP() *mcp.Server {
	return mcp.New(mcp.Options{Workspace: s.cfg.Workspace.ID, Proxy: s.proxy, Keys: s.auth, Store: s.db,
		Catalog: s.defs.catalog, Log: s.log})
}
