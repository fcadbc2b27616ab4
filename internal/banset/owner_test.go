package banset

import (
	"go/ast"
	"go/types"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// TestOnlyTheBanSetWritesBans keeps the design's one rule about the set of
// bans that the compiler cannot: the ban map's writer is exported by
// internal/xdp (banset lives in another package), so this test checks by
// type that nothing else in the module calls it. The daemon may hand the
// writer to banset.New; the benchmark tool fills maps of its own.
func TestOnlyTheBanSetWritesBans(t *testing.T) {
	const mod = "github.com/xdpban/xdpban/"
	writes := map[string]bool{"Ban": true, "Unban": true, "BanBatch": true, "Sweep": true, "TakeIfEnded": true}
	allowed := func(pkg, method string) bool {
		switch {
		case pkg == mod+"internal/xdp", pkg == mod+"internal/banset",
			strings.HasPrefix(pkg, mod+"cmd/xdpbench"):
			return true
		case method == "BanMap" && pkg == mod+"internal/daemon":
			return true // wiring: the writer goes straight into banset.New
		}
		return false
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax, Dir: "../.."}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatalf("load packages: %v", err)
	}
	checked := 0
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("load %s: %v", p.PkgPath, e)
		}
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				fn, ok := p.TypesInfo.Uses[sel.Sel].(*types.Func)
				if !ok || fn.Pkg() == nil || fn.Pkg().Path() != mod+"internal/xdp" {
					return true
				}
				recv := fn.Type().(*types.Signature).Recv()
				if recv == nil {
					return true
				}
				name := types.TypeString(recv.Type(), nil)
				writer := strings.HasSuffix(name, "xdp.BanMap") && writes[fn.Name()]
				getter := strings.HasSuffix(name, "xdp.Maps") && fn.Name() == "BanMap"
				if !writer && !getter {
					return true
				}
				checked++
				if !allowed(p.PkgPath, fn.Name()) {
					t.Errorf("%s: %s calls %s.%s; change bans through internal/banset", p.Fset.Position(sel.Pos()), p.PkgPath, name, fn.Name())
				}
				return true
			})
		}
	}
	if checked == 0 {
		t.Fatal("found no call of the ban map's writer at all: the test no longer sees what it guards")
	}
}
