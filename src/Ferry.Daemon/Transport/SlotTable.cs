namespace Ferry.Daemon.Transport;

/// <summary>
/// Items kept in an array of numbered slots, for owners whose readers scan it without a lock
/// (an epoll loop looking up the target of an event, a sweep over a listener's connections): a
/// freed slot is reused before the array grows, and a grown array is published whole, so a
/// reader sees either the old array or the new one. Adding and freeing are the owner's to
/// serialise (under its lock).
/// </summary>
internal sealed class SlotTable<T>(int initialCapacity)
{
    private readonly Stack<int> _free = new();
    private T[] _items = new T[initialCapacity];
    private int _used;

    /// <summary>The array as it is now, for a reader without the owner's lock; a free slot holds default.</summary>
    public T[] Items => Volatile.Read(ref _items);

    /// <summary>The item in <paramref name="slot"/> (the owner's lock held).</summary>
    public T this[int slot] => _items[slot];

    /// <summary>Puts <paramref name="item"/> in a free slot, growing the array when none is; returns the slot.</summary>
    public int Add(T item)
    {
        if (!_free.TryPop(out int slot))
        {
            slot = _used++;
            if (slot == _items.Length)
            {
                var grown = new T[_items.Length * 2];
                _items.CopyTo(grown, 0);
                Volatile.Write(ref _items, grown);
            }
        }
        // A plain store: in .NET's memory model storing an object reference is a release, so a
        // reader that finds it sees the object whole.
        _items[slot] = item;
        return slot;
    }

    /// <summary>Empties <paramref name="slot"/> for reuse.</summary>
    public void Free(int slot)
    {
        _items[slot] = default!;
        _free.Push(slot);
    }
}
