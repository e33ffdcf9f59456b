import NakshaWire

extension WriteAheadLog {
    /// Reads every segment in order; see the type's invariants for what is repaired and
    /// what is refused.
    func recover() throws(WALError) {
        let names = try fileSystem.listDirectory(directory)
        for name in names where name.hasSuffix(".wal.tmp") {
            try fileSystem.remove("\(directory)/\(name)")  // a rotation that never completed
        }
        let segmentNames = names.filter { $0.hasSuffix(".wal") }
        for (position, name) in segmentNames.enumerated() {
            let path = "\(directory)/\(name)"
            let isLast = position == segmentNames.count - 1
            let bytes = try fileSystem.readWholeFile(path)
            guard bytes.count >= Self.segmentHeaderSize, Array(bytes[0..<8]) == Self.headerMagic else {
                if isLast && bytes.count < Self.segmentHeaderSize {
                    try fileSystem.remove(path)  // created but never got its header
                    recoveryReport = "removed empty segment \(path)"
                    continue
                }
                throw WALError(.badSegmentHeader, "\(path) does not start with the WAL header \"NKWAL001\"")
            }
            let sequence = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
            var offset = Self.segmentHeaderSize
            var maxTag: UInt64 = 0
            while offset < bytes.count {
                if let (record, length) = Self.decodeRecord(bytes, at: offset, maxRecordBytes: maxRecordBytes) {
                    recovered.append(record)
                    recoveredPaths.append(path)
                    maxTag = max(maxTag, record.tag)
                    offset += length
                    continue
                }
                // Damaged record at `offset`. A torn tail is repairable; anything else is not.
                let validLater = Self.findValidRecord(bytes, after: offset, maxRecordBytes: maxRecordBytes)
                if isLast, validLater == nil {
                    try fileSystem.truncate(path, to: offset)
                    recoveryReport = "truncated a torn record at \(path) offset \(offset) (\(bytes.count - offset) bytes dropped)"
                    break
                }
                throw WALError(
                    .corruptRecord,
                    "\(path) offset \(offset): record fails its checksum and is followed by valid data; refusing to start. Restore this node from a peer (remove its data directory) or from backup"
                )
            }
            segments.append(Segment(sequence: sequence, path: path, maxTag: maxTag))
        }
        if let last = segments.last {
            currentSize = Int(try fileSystem.fileSize(last.path))
        }
    }

    /// The record at `offset` and its total length, or nil if it is truncated or damaged.
    static func decodeRecord(_ bytes: [UInt8], at offset: Int, maxRecordBytes: Int) -> (WALRecord, Int)? {
        guard bytes.count - offset >= recordHeaderSize else { return nil }
        return bytes.withUnsafeBytes { raw -> (WALRecord, Int)? in
            let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            guard length <= maxRecordBytes, bytes.count - offset - recordHeaderSize >= length else { return nil }
            let type = raw[offset + 4]
            let tag = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 5, as: UInt64.self))
            let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 13, as: UInt32.self))
            let payloadStart = offset + recordHeaderSize
            var crc = CRC32C.update(CRC32C.initial, UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + 13)]))
            crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: raw[payloadStart..<(payloadStart + length)]))
            guard CRC32C.finalize(crc) == stored else { return nil }
            return (WALRecord(type: type, tag: tag, payload: Array(bytes[payloadStart..<(payloadStart + length)])), recordHeaderSize + length)
        }
    }

    /// The offset of the first valid record strictly after `offset`, if any.
    static func findValidRecord(_ bytes: [UInt8], after offset: Int, maxRecordBytes: Int) -> Int? {
        var candidate = offset + 1
        while candidate + recordHeaderSize <= bytes.count {
            if decodeRecord(bytes, at: candidate, maxRecordBytes: maxRecordBytes) != nil { return candidate }
            candidate += 1
        }
        return nil
    }
}

