package workloads

import (
	"reflect"
	"testing"
)

// TestIOFitsRegisters: the Go compiler keeps a struct in registers only
// when it has at most four fields, each such, and 32 bytes at most
// (cmd/compile's ssa.CanSSA); an IO that grows past that goes through
// memory again on its way from the generator to the runner, and each copy
// stalls on the stores it has just made (README, Values kept in
// registers). A field added to IO belongs in IOFlags, or IO needs
// measuring again.
func TestIOFitsRegisters(t *testing.T) {
	var check func(reflect.Type, string)
	check = func(ty reflect.Type, name string) {
		if ty.Size() > 32 {
			t.Errorf("%s is %d bytes, more than 32", name, ty.Size())
		}
		switch ty.Kind() {
		case reflect.Struct:
			if ty.NumField() > 4 {
				t.Errorf("%s has %d fields, more than 4", name, ty.NumField())
			}
			for i := range ty.NumField() {
				f := ty.Field(i)
				check(f.Type, name+"."+f.Name)
			}
		case reflect.Array:
			if ty.Len() > 1 {
				t.Errorf("%s is an array of %d", name, ty.Len())
			}
		}
	}
	check(reflect.TypeFor[IO](), "IO")
}
