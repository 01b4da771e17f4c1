using Parquet;
using Parquet.Schema;

namespace Distill.Data.Storage;

/// <summary>
/// One column of a row group being built for Parquet.Net's low-level writer: the non-null values plus a definition and a
/// repetition level per entry (Dremel encoding), so the writer never shreds objects. Grows as needed; reused across row groups.
/// </summary>
internal sealed class LeveledColumn<T> : IColumnBuffer where T : struct
{
    private readonly Func<object, T> _fromObject;
    private T[] _values = new T[256];
    private int[] _definitions = new int[256];
    private int[] _repetitions = new int[256];
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

    /// <summary>An entry holding a value.</summary>
    public void Value(T value, int definition, int repetition)
    {
        if (_valueCount == _values.Length) Array.Resize(ref _values, _values.Length * 2);
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
        while (_valueCount + values.Length > _values.Length) Array.Resize(ref _values, _values.Length * 2);
        while (_levelCount + values.Length > _definitions.Length)
        {
            Array.Resize(ref _definitions, _definitions.Length * 2);
            Array.Resize(ref _repetitions, _repetitions.Length * 2);
        }
        values.CopyTo(_values.AsSpan(_valueCount));
        _valueCount += values.Length;
        _definitions.AsSpan(_levelCount, values.Length).Fill(definition);
        _repetitions.AsSpan(_levelCount, values.Length).Fill(1);
        _repetitions[_levelCount] = firstRepetition;
        _levelCount += values.Length;
    }

    /// <summary>An entry without a value: a null, or an empty list at <paramref name="definition"/>.</summary>
    public void Level(int definition, int repetition)
    {
        if (_levelCount == _definitions.Length)
        {
            Array.Resize(ref _definitions, _definitions.Length * 2);
            Array.Resize(ref _repetitions, _repetitions.Length * 2);
        }
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
