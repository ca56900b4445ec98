"""Four float64 lanes in one vector register, for numba kernels (private).

numba leaves LLVM's SLP vectoriser off (numba #8705), so independent recursions written out
lane by lane (the four stretches of the displacement filters, the three axes of the
resampler's and the set finder's low-passes) compile to scalar instructions, and those
loops were bound by the scalar instruction throughput rather than by their dependency
chains. ``F64x4`` is an LLVM ``<4 x double>`` value; the intrinsics below load, store and
combine them with the plain IEEE operations (``fadd``, ``fsub``, ``fmul``, ``fdiv``,
``sqrt`` without fast-math flags, so nothing is fused or reordered): every lane gets exactly
the operations, and so the bits, of the scalar code.

Usage inside ``@njit`` kernels only::

    v = load4(y, i)           # row i of a C-contiguous float64 (m, 4) array, 0 <= i < m
    o = add4(mul4(b0, v), z)  # lane by lane b0 * v + z
    store4(y, i, o)
    xi = load3(x, i)          # x[i, 0:3] of a float32/float64 (n, 3) array, lane 3 = 0

There is no bounds check and no negative-index wraparound: callers pass indices in range.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

__all__ = ["F64x4", "add4", "div4", "fdiv", "lane4", "less4", "load3", "load3x4", "load4", "loadv4", "make4", "mul4",
           "scatter4", "splat4", "sqrt4", "store3", "store4", "sub4"]

_VEC = ir.VectorType(ir.DoubleType(), 4)


class F64x4Type(types.Type):
    """numba type of a ``<4 x double>`` vector value."""

    def __init__(self) -> None:
        super().__init__(name="F64x4")


F64x4 = F64x4Type()


@register_model(F64x4Type)
class _F64x4Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _rows4(arr) -> bool:
    return isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.ndim == 2 and arr.layout == "C"


def _row_ptr(context, builder, aryty, ary, idx, idxty):
    """Pointer (as ``<4 x double>*``) to row ``idx`` of a C-contiguous float64 (m, 4) array."""
    a = context.make_array(aryty)(context, builder, ary)
    i = context.cast(builder, idx, idxty, types.intp)
    ptr = builder.gep(a.data, [builder.mul(i, ir.Constant(i.type, 4))], inbounds=True)
    return builder.bitcast(ptr, _VEC.as_pointer())


@intrinsic
def load4(typingctx, arr, i):
    """Row ``i`` of a C-contiguous float64 (m, 4) array as an ``F64x4``."""
    if not (_rows4(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return builder.load(_row_ptr(context, builder, sig.args[0], args[0], args[1], sig.args[1]), align=8)

    return F64x4(arr, i), codegen


@intrinsic
def loadv4(typingctx, arr, i):
    """Elements ``i`` to ``i + 3`` of a 1-d float64 array whose elements are contiguous
    (``strides[0] == 8``, any layout type; not checked) as an ``F64x4``."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.ndim == 1
            and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        a = context.make_array(sig.args[0])(context, builder, args[0])
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = builder.gep(a.data, [idx], inbounds=True)
        return builder.load(builder.bitcast(ptr, _VEC.as_pointer()), align=8)

    return F64x4(arr, i), codegen


@intrinsic
def store4(typingctx, arr, i, v):
    """Write the ``F64x4`` ``v`` to row ``i`` of a C-contiguous float64 (m, 4) array."""
    if not (_rows4(arr) and isinstance(i, types.Integer) and v == F64x4):
        return None

    def codegen(context, builder, sig, args):
        builder.store(args[2], _row_ptr(context, builder, sig.args[0], args[0], args[1], sig.args[1]), align=8)
        return context.get_dummy_value()

    return types.none(arr, i, v), codegen


@intrinsic
def scatter4(typingctx, arr, i0, i1, i2, i3, v):
    """Lane ``k`` of the ``F64x4`` ``v`` to ``arr[i_k, k]`` of a C-contiguous float64 (m, 4)
    array, or to ``arr[i_k]`` of a C-contiguous float64 1-d array (indices in range: no
    check, no wraparound)."""
    ok = (isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.layout == "C" and arr.ndim in (1, 2)
          and all(isinstance(i, types.Integer) for i in (i0, i1, i2, i3)) and v == F64x4)
    if not ok:
        return None
    two_d = arr.ndim == 2

    def codegen(context, builder, sig, args):
        a = context.make_array(sig.args[0])(context, builder, args[0])
        for k in range(4):
            i = context.cast(builder, args[1 + k], sig.args[1 + k], types.intp)
            if two_d:
                i = builder.add(builder.mul(i, ir.Constant(i.type, 4)), ir.Constant(i.type, k))
            val = builder.extract_element(args[5], ir.Constant(ir.IntType(32), k))
            builder.store(val, builder.gep(a.data, [i], inbounds=True), align=8)
        return context.get_dummy_value()

    return types.none(arr, i0, i1, i2, i3, v), codegen


@intrinsic
def splat4(typingctx, x):
    """``F64x4`` with the float ``x`` in every lane."""
    if not isinstance(x, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        s = context.cast(builder, args[0], sig.args[0], types.float64)
        v = ir.Constant(_VEC, None)
        for k in range(4):
            v = builder.insert_element(v, s, ir.Constant(ir.IntType(32), k))
        return v

    return F64x4(x), codegen


@intrinsic
def make4(typingctx, a, b, c, d):
    """``F64x4`` of the floats ``a, b, c, d`` (lanes 0-3)."""
    if not all(isinstance(v, types.Float) for v in (a, b, c, d)):
        return None

    def codegen(context, builder, sig, args):
        v = ir.Constant(_VEC, None)
        for k in range(4):
            s = context.cast(builder, args[k], sig.args[k], types.float64)
            v = builder.insert_element(v, s, ir.Constant(ir.IntType(32), k))
        return v

    return F64x4(a, b, c, d), codegen


@intrinsic
def sqrt4(typingctx, v):
    """Lane by lane square root (IEEE, correctly rounded: the bits of ``math.sqrt``)."""
    if v != F64x4:
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VEC, [_VEC]), "llvm.sqrt.v4f64")
        return builder.call(fn, [args[0]])

    return F64x4(v), codegen


@intrinsic
def lane4(typingctx, v, k):
    """Lane ``k`` (0-3) of the ``F64x4`` ``v`` as a float."""
    if not (v == F64x4 and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return builder.extract_element(args[0], args[1])

    return types.float64(v, k), codegen


@intrinsic
def less4(typingctx, a, b):
    """Bit ``k`` set where lane ``k`` of ``a`` is less than lane ``k`` of ``b`` (as the scalar
    ``<``: False when either is NaN), as an int64 0-15."""
    if not (a == F64x4 and b == F64x4):
        return None

    def codegen(context, builder, sig, args):
        bits = builder.bitcast(builder.fcmp_ordered("<", args[0], args[1]), ir.IntType(4))
        return builder.zext(bits, ir.IntType(64))

    return types.int64(a, b), codegen


def _binary(op_name: str, doc: str):
    def typer(typingctx, a, b):
        if not (a == F64x4 and b == F64x4):
            return None

        def codegen(context, builder, sig, args):
            return getattr(builder, op_name)(args[0], args[1])

        return F64x4(a, b), codegen

    typer.__name__ = typer.__qualname__ = {"fadd": "add4", "fsub": "sub4", "fmul": "mul4", "fdiv": "div4"}[op_name]
    typer.__doc__ = doc
    return intrinsic(typer)


add4 = _binary("fadd", "Lane by lane ``a + b`` (IEEE, no fast-math flags).")
sub4 = _binary("fsub", "Lane by lane ``a - b`` (IEEE, no fast-math flags).")
mul4 = _binary("fmul", "Lane by lane ``a * b`` (IEEE, no fast-math flags).")
div4 = _binary("fdiv", "Lane by lane ``a / b`` (IEEE, no fast-math flags; a zero divisor gives inf / NaN, unchecked).")


def _rows3(arr) -> bool:
    return isinstance(arr, types.Array) and isinstance(arr.dtype, types.Float) and arr.ndim == 2


@intrinsic
def load3(typingctx, arr, i):
    """``F64x4`` of ``arr[i, 0:3]`` (lane 3: 0.0) of a float32 or float64 2-d array of any row
    stride whose elements within a row are contiguous (``strides[1] == itemsize``; not
    checked) and which has at least 3 columns: one masked load (nothing read past the 3rd
    element), float32 widened exactly."""
    if not (_rows3(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        a = context.make_array(aryty)(context, builder, args[0])
        ety = context.get_value_type(aryty.dtype)
        vty = ir.VectorType(ety, 4)
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        stride0 = builder.extract_value(a.strides, 0)
        byte = builder.bitcast(a.data, ir.IntType(8).as_pointer())
        ptr = builder.bitcast(builder.gep(byte, [builder.mul(idx, stride0)], inbounds=True), vty.as_pointer())
        eptr = builder.bitcast(ptr, ety.as_pointer())
        v = ir.Constant(vty, [0.0] * 4)
        for k in range(3):
            e = builder.load(builder.gep(eptr, [ir.Constant(ir.IntType(64), k)], inbounds=True),
                             align=4 if aryty.dtype == types.float32 else 8)
            v = builder.insert_element(v, e, ir.Constant(ir.IntType(32), k))
        if aryty.dtype == types.float32:
            v = builder.fpext(v, _VEC)
        return v

    return F64x4(arr, i), codegen


@intrinsic
def load3x4(typingctx, arr, i0, i1, i2, i3):
    """Rows ``i0``-``i3`` of a float32 or float64 2-d array (laid out as for :func:`load3`)
    transposed: ``(c0, c1, c2)``, ``F64x4`` of ``arr[i_k, j]`` in lane ``k`` of ``c_j``, float32
    widened exactly; the same values as ``make4(arr[i0, j], arr[i1, j], arr[i2, j], arr[i3, j])``
    in a few vector loads and shuffles (nothing read past a row's 3rd element)."""
    if not (_rows3(arr) and all(isinstance(i, types.Integer) for i in (i0, i1, i2, i3))):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        a = context.make_array(aryty)(context, builder, args[0])
        ety = context.get_value_type(aryty.dtype)
        align = 4 if aryty.dtype == types.float32 else 8
        stride0 = builder.extract_value(a.strides, 0)
        byte = builder.bitcast(a.data, ir.IntType(8).as_pointer())
        pairs, thirds = [], []
        for k in range(4):
            idx = context.cast(builder, args[1 + k], sig.args[1 + k], types.intp)
            eptr = builder.bitcast(builder.gep(byte, [builder.mul(idx, stride0)], inbounds=True), ety.as_pointer())
            pairs.append(builder.load(builder.bitcast(eptr, ir.VectorType(ety, 2).as_pointer()), align=align))
            thirds.append(builder.load(builder.gep(eptr, [ir.Constant(ir.IntType(64), 2)], inbounds=True), align=align))

        def mask(*lanes):
            return ir.Constant(ir.VectorType(ir.IntType(32), len(lanes)), list(lanes))

        lo = builder.shuffle_vector(pairs[0], pairs[2], mask(0, 1, 2, 3))  # rows 0 and 2
        hi = builder.shuffle_vector(pairs[1], pairs[3], mask(0, 1, 2, 3))  # rows 1 and 3
        c0 = builder.shuffle_vector(lo, hi, mask(0, 4, 2, 6))
        c1 = builder.shuffle_vector(lo, hi, mask(1, 5, 3, 7))
        c2 = ir.Constant(ir.VectorType(ety, 4), None)
        for k in range(4):
            c2 = builder.insert_element(c2, thirds[k], ir.Constant(ir.IntType(32), k))
        cols = [c0, c1, c2]
        if aryty.dtype == types.float32:
            cols = [builder.fpext(c, _VEC) for c in cols]
        return context.make_tuple(builder, sig.return_type, cols)

    return types.UniTuple(F64x4, 3)(arr, i0, i1, i2, i3), codegen


@intrinsic
def store3(typingctx, arr, i, v):
    """Lanes 0-2 of the ``F64x4`` ``v`` to ``arr[i, 0:3]`` of a C-contiguous float64 (m, 3) array."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.ndim == 2 and arr.layout == "C"
            and isinstance(i, types.Integer) and v == F64x4):
        return None

    def codegen(context, builder, sig, args):
        a = context.make_array(sig.args[0])(context, builder, args[0])
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        base = builder.gep(a.data, [builder.mul(idx, ir.Constant(idx.type, 3))], inbounds=True)
        vec2 = ir.VectorType(ir.DoubleType(), 2)
        first2 = ir.Constant(ir.VectorType(ir.IntType(32), 2), [0, 1])
        lo = builder.shuffle_vector(args[2], ir.Constant(_VEC, None), first2)
        builder.store(lo, builder.bitcast(base, vec2.as_pointer()), align=8)
        hi = builder.extract_element(args[2], ir.Constant(ir.IntType(32), 2))
        builder.store(hi, builder.gep(base, [ir.Constant(idx.type, 2)], inbounds=True), align=8)
        return context.get_dummy_value()

    return types.none(arr, i, v), codegen


@intrinsic
def fdiv(typingctx, a, b):
    """``a / b`` of two floats as the IEEE division, without numba's zero-divisor check (the
    caller knows ``b != 0``): the same bits as ``a / b``."""
    if not (isinstance(a, types.Float) and isinstance(b, types.Float)):
        return None

    def codegen(context, builder, sig, args):
        x = context.cast(builder, args[0], sig.args[0], types.float64)
        y = context.cast(builder, args[1], sig.args[1], types.float64)
        return builder.fdiv(x, y)

    return types.float64(a, b), codegen
