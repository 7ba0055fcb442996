import ChatCore
import Testing

@Suite struct JoinSequencerTests {
    @Test func holdsLiveMessagesUntilHistoryThenReleasesOnlyNewerOnes() {
        var sequencer = JoinSequencer<String>()
        #expect(sequencer.receive(at(4), payload: "m4") == .held)
        #expect(sequencer.receive(at(5), payload: "m5") == .held)
        #expect(sequencer.receive(at(6), payload: "m6") == .held)
        // History was read after m4 and m5 were published: they are in it.
        #expect(sequencer.historyPlayed(through: at(5)) == ["m6"])
        #expect(sequencer.isLive)
        #expect(sequencer.receive(at(6), payload: "m6") == .duplicate)
        #expect(sequencer.receive(at(7), payload: "m7") == .deliver)
    }

    @Test func emptyHistoryReleasesEverythingHeld() {
        var sequencer = JoinSequencer<Int>()
        _ = sequencer.receive(at(1), payload: 1)
        _ = sequencer.receive(at(2), payload: 2)
        #expect(sequencer.historyPlayed(through: nil) == [1, 2])
        #expect(sequencer.receive(at(2), payload: 2) == .duplicate)
        #expect(sequencer.receive(at(3), payload: 3) == .deliver)
    }

    @Test func historyNewerThanEverythingHeldReleasesNothing() {
        var sequencer = JoinSequencer<Int>()
        _ = sequencer.receive(at(9), payload: 9)
        #expect(sequencer.historyPlayed(through: at(12)) == [])
        #expect(sequencer.receive(at(12), payload: 12) == .duplicate)
        #expect(sequencer.receive(at(13), payload: 13) == .deliver)
    }

    @Test func duplicatesWhileHeldAreReleasedOnce() {
        var sequencer = JoinSequencer<Int>()
        _ = sequencer.receive(at(3), payload: 3)
        _ = sequencer.receive(at(3), payload: 3)
        #expect(sequencer.historyPlayed(through: at(2)) == [3])
    }

    @Test func aFloodBeforeHistoryOverflowsInsteadOfGrowing() {
        var sequencer = JoinSequencer<Int>(holdLimit: 2)
        #expect(sequencer.receive(at(1), payload: 1) == .held)
        #expect(sequencer.receive(at(2), payload: 2) == .held)
        #expect(sequencer.receive(at(3), payload: 3) == .overflow)
    }

    @Test func aNewEpochIsAResetNotADuplicate() {
        var sequencer = JoinSequencer<String>()
        _ = sequencer.historyPlayed(through: at(40))
        #expect(sequencer.receive(at(41), payload: "old 41") == .deliver)
        // The counter was set back: numbering restarts lower, under a new epoch.
        #expect(sequencer.receive(at(3, "new"), payload: "new 3") == .deliver)
        #expect(sequencer.receive(at(4, "new"), payload: "new 4") == .deliver)
        #expect(sequencer.receive(at(4, "new"), payload: "new 4") == .duplicate)
        #expect(sequencer.lastPosition == at(4, "new"))
        // A late message of the epoch left behind is old, not another reset.
        #expect(sequencer.receive(at(42), payload: "old 42") == .duplicate)
        #expect(sequencer.receive(at(5, "new"), payload: "new 5") == .deliver)
    }

    @Test func heldMessagesOfANewEpochAreReleasedAfterOlderHistory() {
        var sequencer = JoinSequencer<String>()
        _ = sequencer.receive(at(7), payload: "old 7")
        _ = sequencer.receive(at(1, "new"), payload: "new 1")
        _ = sequencer.receive(at(2, "new"), payload: "new 2")
        #expect(sequencer.historyPlayed(through: at(7)) == ["new 1", "new 2"])
        #expect(sequencer.receive(at(2, "new"), payload: "new 2") == .duplicate)
    }

    private func at(_ seq: Int64, _ epoch: String = "old") -> MessagePosition {
        MessagePosition(epoch: RoomEpoch(rawValue: epoch), seq: seq)
    }
}
