extension Array {
    /// The elements, in order, split into groups of at most `maxCount` elements whose `size`
    /// adds up to at most `maxBytes`; an element larger than `maxBytes` goes alone. No group
    /// is empty, and concatenating the groups gives the array back.
    public func sizeBoundedGroups(maxCount: Int = .max, maxBytes: Int, size: (Element) -> Int) -> [[Element]] {
        var groups: [[Element]] = []
        var current: [Element] = []
        var currentBytes = 0
        for element in self {
            let bytes = size(element)
            if !current.isEmpty, current.count >= maxCount || currentBytes + bytes > maxBytes {
                groups.append(current)
                current = []
                currentBytes = 0
            }
            current.append(element)
            currentBytes += bytes
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }
}
