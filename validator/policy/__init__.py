"""The static policy engine on `ast` + `symtable`: rules, checkers, tenant policy."""
