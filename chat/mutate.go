package chat

// mutate runs a list or dict mutator call (recv.name(args)) when
// AllowMutation is on; done is false when the call is not a mutation.
func (ev *evaluator) mutate(a *attrExpr, recv any, call *callExpr, sc *scope) (result any, done bool) {
	switch r := recv.(type) {
	case []any:
		if !unsafeMethods["list"][a.name] {
			return nil, false
		}
		args, kw := ev.evalArgs(call.args, call.kwargs, sc)
		list := append([]any{}, r...)
		result = nil
		switch a.name {
		case "append":
			p, _ := bindArgs("append", args, kw, "object")
			list = append(list, p[0])
		case "extend":
			p, _ := bindArgs("extend", args, kw, "iterable")
			list = append(list, iterate(p[0])...)
		case "insert":
			p, _ := bindArgs("insert", args, kw, "index", "object")
			i := clampIdx(p[0], len(list), 0)
			list = append(list[:i], append([]any{p[1]}, list[i:]...)...)
		case "pop":
			p, _ := bindArgs("pop", args, kw, "index")
			if len(list) == 0 {
				throw("IndexError", "pop from empty list")
			}
			i := intArg(p[0], -1)
			if i < 0 {
				i += len(list)
			}
			if i < 0 || i >= len(list) {
				throw("IndexError", "pop index out of range")
			}
			result = list[i]
			list = append(list[:i], list[i+1:]...)
		case "remove":
			p, _ := bindArgs("remove", args, kw, "value")
			found := false
			for i, it := range list {
				if pyEqual(it, p[0]) {
					list = append(list[:i], list[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				throw("ValueError", "list.remove(x): x not in list")
			}
		case "clear":
			list = []any{}
		case "reverse":
			for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
				list[i], list[j] = list[j], list[i]
			}
		case "sort":
			p, _ := bindArgs("sort", args, kw, "reverse")
			sortValues(list, func(v any) any { return v }, truthy(p[0]))
		default:
			return nil, false
		}
		ev.store(a.obj, list, sc)
		return result, true
	case *Dict:
		if !unsafeMethods["dict"][a.name] {
			return nil, false
		}
		args, kw := ev.evalArgs(call.args, call.kwargs, sc)
		switch a.name {
		case "update":
			for _, src := range args {
				d, ok := src.(*Dict)
				if !ok {
					throw("TypeError", "dict.update() argument must be a mapping")
				}
				for _, k := range d.keys {
					r.set(k, d.value(k))
				}
			}
			if kw != nil {
				for _, k := range kw.keys {
					r.set(k, kw.value(k))
				}
			}
			return nil, true
		case "pop", "setdefault":
			if len(args) == 0 {
				throw("TypeError", "%s expected at least 1 argument", a.name)
			}
			v, ok := r.lookup(args[0])
			if a.name == "setdefault" {
				if !ok {
					if len(args) > 1 {
						v = args[1]
					}
					r.set(args[0], v)
				}
				return v, true
			}
			if !ok {
				if len(args) > 1 {
					return args[1], true
				}
				throw("KeyError", "%s", pyRepr(args[0]))
			}
			r.remove(args[0])
			return v, true
		case "clear":
			r.keys, r.m = nil, map[any]any{}
			return nil, true
		}
	}
	return nil, false
}

// remove deletes key k from d.
func (d *Dict) remove(k any) {
	h := hashKey(k)
	delete(d.m, h)
	for i, key := range d.keys {
		if hashKey(key) == h {
			d.keys = append(d.keys[:i:i], d.keys[i+1:]...)
			return
		}
	}
}

// store writes a mutated list back to the location expression it came from.
func (ev *evaluator) store(loc expr, v any, sc *scope) {
	switch l := loc.(type) {
	case *nameExpr:
		for c := sc; c != nil; c = c.parent {
			if _, ok := c.vars[l.name]; ok {
				c.vars[l.name] = v
				return
			}
		}
		sc.vars[l.name] = v
		return
	case *attrExpr:
		switch o := ev.eval(l.obj, sc).(type) {
		case *Namespace:
			o.d.Set(l.name, v)
			return
		case *Dict:
			o.set(l.name, v)
			return
		}
	case *itemExpr:
		obj := ev.eval(l.obj, sc)
		key := ev.eval(l.key, sc)
		switch o := obj.(type) {
		case *Dict:
			o.set(key, v)
			return
		case []any:
			if i, ok := key.(int64); ok {
				if i < 0 {
					i += int64(len(o))
				}
				if i >= 0 && i < int64(len(o)) {
					o[i] = v
					return
				}
			}
		}
	}
	throw("TypeError", "cannot mutate a list that is not stored in a variable, attribute or item")
}
