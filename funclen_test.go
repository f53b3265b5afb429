package lprd_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function may be, counted from its func
// keyword to its closing brace, as issue 16 asks: a longer one is split into
// named steps. Tests and the synthetic renderer (ocr/synth) are exempt.
const maxFuncLines = 80

// TestFunctionLength checks that no function of the module outside tests and
// ocr/synth is longer than maxFuncLines. Function literals count on their
// own too, so that a long closure at package level is caught.
func TestFunctionLength(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") || filepath.ToSlash(path) == "ocr/synth" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != "." && err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, l := range longFuncs(fset, f) {
			t.Errorf("%s: %d lines; split it into named steps (at most %d)", l.where, l.lines, maxFuncLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type longFunc struct {
	where string // file:line: name
	lines int
}

// longFuncs returns the functions and function literals of f longer than
// maxFuncLines.
func longFuncs(fset *token.FileSet, f *ast.File) []longFunc {
	var out []longFunc
	check := func(name string, start token.Pos, body *ast.BlockStmt) {
		if body == nil {
			return // declared without a body (assembly)
		}
		from, to := fset.Position(start), fset.Position(body.Rbrace)
		if n := to.Line - from.Line + 1; n > maxFuncLines {
			out = append(out, longFunc{fmt.Sprintf("%s:%d: %s", from.Filename, from.Line, name), n})
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch fn := n.(type) {
		case *ast.FuncDecl:
			check(funcName(fn), fn.Pos(), fn.Body)
		case *ast.FuncLit:
			check("func literal", fn.Pos(), fn.Body)
		}
		return true
	})
	return out
}

// funcName is fn's name as a reader looks for it: Name or (Type).Name.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	if s, ok := typ.(*ast.StarExpr); ok {
		typ = s.X
	}
	switch x := typ.(type) {
	case *ast.IndexExpr: // generic receiver T[P]
		typ = x.X
	case *ast.IndexListExpr:
		typ = x.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return "(" + id.Name + ")." + fn.Name.Name
	}
	return fn.Name.Name
}
