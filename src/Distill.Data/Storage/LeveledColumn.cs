using System.Buffers;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;

namespace Distill.Data.Storage;

/// <summary>
/// One column of a row group being built for Parquet.Net's low-level writer: the non-null values plus a definition and a
/// repetition level per entry (Dremel encoding), so the writer never shreds objects. Grows as needed; reused across row groups.
/// <para>Its arrays come from <see cref="ArrayPool{T}.Shared"/> and go back with <see cref="Return"/>: a tool-trace row group
/// holds ~1.1 million alternatives, so each shard's buffers would otherwise be new large-object-heap arrays, and the full
/// collections they trigger mark every sample the dataset writer holds.</para>
/// </summary>
internal sealed class LeveledColumn<T> : IColumnBuffer where T : struct
{
    private readonly Func<object, T> _fromObject;
    private T[] _values = [];
    private int[] _definitions = [];
    private int[] _repetitions = [];
    private int _valueCount;
    private int _levelCount;

    /// <param name="fromObject">Converts a boxed value to <typeparamref name="T"/> for <see cref="Add"/>; a cast when null.</param>
    public LeveledColumn(Func<object, T>? fromObject = null) => _fromObject = fromObject ?? (v => (T)v);

    /// <summary>A possibly null boxed value of a field whose definition level when present is <paramref name="definition"/>.</summary>
    public void Add(object? value, int definition, int repetition)
    {
        if (value is null) Level(definition - 1, repetition);
        else Value(_fromObject(value), definition, repetition);
    }

    public void Clear()
    {
        _valueCount = 0;
        _levelCount = 0;
    }

    public void Return()
    {
        ReturnToPool(ref _values);
        ReturnToPool(ref _definitions);
        ReturnToPool(ref _repetitions);
        Clear();
    }

    /// <summary>An entry holding a value.</summary>
    public void Value(T value, int definition, int repetition)
    {
        if (_valueCount == _values.Length) Grow(ref _values, _valueCount, _valueCount + 1);
        _values[_valueCount++] = value;
        Level(definition, repetition);
    }

    /// <summary>
    /// Entries holding <paramref name="values"/>, all at <paramref name="definition"/>: the first at
    /// <paramref name="firstRepetition"/>, the rest at repetition level 1 (elements of a row-level list).
    /// </summary>
    public void Values(ReadOnlySpan<T> values, int definition, int firstRepetition)
    {
        if (values.IsEmpty) return;
        if (_valueCount + values.Length > _values.Length) Grow(ref _values, _valueCount, _valueCount + values.Length);
        if (_levelCount + values.Length > _definitions.Length) GrowLevels(_levelCount + values.Length);
        values.CopyTo(_values.AsSpan(_valueCount));
        _valueCount += values.Length;
        _definitions.AsSpan(_levelCount, values.Length).Fill(definition);
        _repetitions.AsSpan(_levelCount, values.Length).Fill(1);
        _repetitions[_levelCount] = firstRepetition;
        _levelCount += values.Length;
    }

    /// <summary>
    /// <paramref name="count"/> entries without values at <paramref name="definition"/> (nulls in a row-level list): the first at
    /// <paramref name="firstRepetition"/>, the rest at repetition level 1.
    /// </summary>
    public void Levels(int count, int definition, int firstRepetition)
    {
        if (count == 0) return;
        if (_levelCount + count > _definitions.Length) GrowLevels(_levelCount + count);
        _definitions.AsSpan(_levelCount, count).Fill(definition);
        _repetitions.AsSpan(_levelCount, count).Fill(1);
        _repetitions[_levelCount] = firstRepetition;
        _levelCount += count;
    }

    /// <summary>An entry without a value: a null, or an empty list at <paramref name="definition"/>.</summary>
    public void Level(int definition, int repetition)
    {
        if (_levelCount == _definitions.Length) GrowLevels(_levelCount + 1);
        _definitions[_levelCount] = definition;
        _repetitions[_levelCount++] = repetition;
    }

    /// <summary>
    /// One row's list of nullable values as a row-level list column: an empty list is a single entry one level below the list's
    /// maximum; elements repeat at level 1 after the first.
    /// </summary>
    public void List(ListField list, ReadOnlySpan<T?> values)
    {
        var item = (DataField)list.Item;
        if (values.Length == 0)
        {
            Level(list.MaxDefinitionLevel - 1, 0);
            return;
        }
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] is { } v) Value(v, item.MaxDefinitionLevel, i == 0 ? 0 : 1);
            else Level(item.MaxDefinitionLevel - 1, i == 0 ? 0 : 1);
        }
    }

    /// <summary>One row's list of non-null values as a row-level list column.</summary>
    public void List(ListField list, ReadOnlySpan<T> values)
    {
        var item = (DataField)list.Item;
        if (values.Length == 0)
        {
            Level(list.MaxDefinitionLevel - 1, 0);
            return;
        }
        for (int i = 0; i < values.Length; i++) Value(values[i], item.MaxDefinitionLevel, i == 0 ? 0 : 1);
    }

    private void GrowLevels(int needed)
    {
        Grow(ref _definitions, _levelCount, needed);
        Grow(ref _repetitions, _levelCount, needed);
    }

    /// <summary>A pooled array of at least twice the size (and at least <paramref name="needed"/>) holding the first <paramref name="count"/> items.</summary>
    private static void Grow<TItem>(ref TItem[] array, int count, int needed)
    {
        var bigger = ArrayPool<TItem>.Shared.Rent(Math.Max(Math.Max(needed, 2 * array.Length), 256));
        array.AsSpan(0, count).CopyTo(bigger);
        ReturnToPool(ref array);
        array = bigger;
    }

    private static void ReturnToPool<TItem>(ref TItem[] array)
    {
        // Strings are cleared so that the pool does not keep a shard's texts alive.
        if (array.Length > 0) ArrayPool<TItem>.Shared.Return(array, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<TItem>());
        array = [];
    }

    public Task WriteAsync(ParquetRowGroupWriter rowGroup, DataField field, CancellationToken ct) =>
        rowGroup.WriteAllPartsAsync<T>(field, _values.AsMemory(0, _valueCount),
            field.MaxDefinitionLevel > 0 ? _definitions.AsMemory(0, _levelCount) : (ReadOnlyMemory<int>?)null,
            field.MaxRepetitionLevel > 0 ? _repetitions.AsMemory(0, _levelCount) : (ReadOnlyMemory<int>?)null, ct);
}

/// <summary>A <see cref="LeveledColumn{T}"/> of any type, for the columns filled from row objects.</summary>
internal interface IColumnBuffer
{
    void Add(object? value, int definition, int repetition);
    void Level(int definition, int repetition);
    void Clear();

    /// <summary>Empties the column and gives its arrays back to the shared pool (it rents again if used after).</summary>
    void Return();

    Task WriteAsync(ParquetRowGroupWriter rowGroup, DataField field, CancellationToken ct);

    /// <summary>A buffer for a field of <paramref name="clrType"/> (Parquet.Net's physical type of the field).</summary>
    static IColumnBuffer For(Type clrType) => clrType switch
    {
        // Parquet.Net 6 reports string fields as ReadOnlyMemory<char>, the type its column writer takes.
        _ when clrType == typeof(string) || clrType == typeof(ReadOnlyMemory<char>) => new LeveledColumn<ReadOnlyMemory<char>>(v => ((string)v).AsMemory()),
        _ when clrType == typeof(int) => new LeveledColumn<int>(),
        _ when clrType == typeof(long) => new LeveledColumn<long>(),
        _ when clrType == typeof(double) => new LeveledColumn<double>(),
        _ when clrType == typeof(float) => new LeveledColumn<float>(),
        _ when clrType == typeof(bool) => new LeveledColumn<bool>(),
        _ when clrType == typeof(DateTime) => new LeveledColumn<DateTime>(),
        _ => throw new NotSupportedException($"no column buffer for {clrType}"),
    };
}
