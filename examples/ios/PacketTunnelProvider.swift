// PacketTunnelProvider.swift - tunproxy inside an iOS (or macOS) Network
// Extension: the sample docs/embedding.md walks through.
//
// Callback mode, the packetFlow way: packets read from packetFlow go to the
// engine with tp_input; the engine's packets come back through the output
// callback and go to packetFlow.writePackets(_:withProtocols:). The engine
// runs on a thread of its own (tp_start). Every flow leaves the extension
// as an ordinary socket of this process, which the system does not route
// back into this tunnel.
//
// The fd alternative (TP_FRAMING_UTUN on the utun fd behind packetFlow) is
// at the bottom: fewer copies, but it relies on a private property.
//
// Written for Apple platforms; not compiled on the project's Linux CI (see
// docs/embedding.md, "What is verified where").

import Darwin
import NetworkExtension
import TunProxy
import os.log

final class PacketTunnelProvider: NEPacketTunnelProvider {
    private var engine: OpaquePointer?  // struct tp *
    /// tp_input and tp_destroy run here, so the engine is never destroyed
    /// while a batch is being handed in.
    private let inputQueue = DispatchQueue(label: "tunproxy.input")
    private let log = OSLog(subsystem: "tunproxy.sample", category: "tunnel")

    override func startTunnel(options: [String: NSObject]?,
                              completionHandler: @escaping (Error?) -> Void) {
        let settings = NEPacketTunnelNetworkSettings(tunnelRemoteAddress: "192.0.2.1")
        settings.mtu = 1500
        let v4 = NEIPv4Settings(addresses: ["10.0.0.8"], subnetMasks: ["255.255.255.0"])
        v4.includedRoutes = [NEIPv4Route.default()]
        settings.ipv4Settings = v4
        let v6 = NEIPv6Settings(addresses: ["fdaa::8"], networkPrefixLengths: [64])
        v6.includedRoutes = [NEIPv6Route.default()]
        settings.ipv6Settings = v6
        settings.dnsSettings = NEDNSSettings(servers: ["9.9.9.9"])

        setTunnelNetworkSettings(settings) { error in
            if let error = error {
                completionHandler(error)
                return
            }
            let rc = self.startEngine()
            if rc != 0 {
                let msg = String(cString: tp_strerror(rc))
                completionHandler(NSError(domain: "tunproxy", code: Int(rc),
                                          userInfo: [NSLocalizedDescriptionKey: msg]))
                return
            }
            self.readPackets()
            completionHandler(nil)
        }
    }

    override func stopTunnel(with reason: NEProviderStopReason,
                             completionHandler: @escaping () -> Void) {
        // tp_stop is safe from any thread; tp_input answers TP_ESTATE from
        // now on, which ends the read loop.
        tp_stop(engine)
        inputQueue.async {
            // Last call on the engine: no tp_input can be running here.
            tp_destroy(self.engine)
            self.engine = nil
            completionHandler()
        }
    }

    /// Creates and starts the engine. Returns 0 or a negative TP_E* code.
    private func startEngine() -> Int32 {
        // Every flow is one socket: lift the soft fd limit (256 by default
        // on iOS) to the hard one.
        var rl = rlimit()
        if getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max
            setrlimit(RLIMIT_NOFILE, &rl)
        }

        var cfg = tp_config()
        tp_config_init(&cfg)  // sets size and version: always start here
        cfg.mtu = 1500
        // The engine's budget: flows and their buffers stay under it.
        // iOS 15+ gives an extension 50 MB; iOS 14 and older 15 MB.
        cfg.max_memory = 8 << 20
        cfg.max_flows = 4096
        cfg.output = tunproxyOutput
        cfg.output_ctx = Unmanaged.passUnretained(self).toOpaque()
        cfg.log = tunproxyLog
        cfg.log_ctx = Unmanaged.passUnretained(self).toOpaque()
        cfg.log_level = UInt32(TP_LOG_WARN.rawValue)

        var tp: OpaquePointer?
        var rc = tp_create(&cfg, &tp)
        if rc != 0 { return rc }
        rc = tp_start(tp)
        if rc != 0 {
            tp_destroy(tp)
            return rc
        }
        engine = tp
        return 0
    }

    /// packetFlow -> engine: one readPackets batch is one tp_input batch.
    private func readPackets() {
        packetFlow.readPackets { [weak self] packets, _ in
            guard let self = self else { return }
            self.inputQueue.async {
                if self.feed(packets) {
                    self.readPackets()
                }
            }
        }
    }

    /// Hands a batch to the engine; false once the engine is stopped.
    private func feed(_ packets: [Data]) -> Bool {
        guard let tp = engine else { return false }
        // NSData keeps its bytes at a fixed address while it lives; the
        // engine copies what it takes before tp_input returns.
        let datas = packets.map { $0 as NSData }
        return withExtendedLifetime(datas) {
            var ptrs: [UnsafePointer<UInt8>?] = datas.map {
                $0.bytes.assumingMemoryBound(to: UInt8.self)
            }
            var lens: [Int] = datas.map { $0.length }
            var done = 0
            var tries = 0
            while done < datas.count {
                let rc = ptrs.withUnsafeMutableBufferPointer { p in
                    lens.withUnsafeMutableBufferPointer { l in
                        tp_input(tp, p.baseAddress! + done, l.baseAddress! + done,
                                 datas.count - done)
                    }
                }
                if rc == -Int32(TP_ESTATE.rawValue) { return false }
                if rc < 0 {  // -TP_EINVAL: not an IP packet; drop the batch
                    os_log("tp_input: %{public}s", log: log, type: .error,
                           String(cString: tp_strerror(rc)))
                    return true
                }
                done += Int(rc)
                if done < datas.count {
                    // Backpressure: the engine is behind. Offer the rest
                    // again shortly, a few times, then drop it (the apps'
                    // TCP retransmits), as a full NIC queue would.
                    tries += 1
                    if tries > 50 { return true }
                    usleep(200)
                }
            }
            return true
        }
    }
}

/// Engine -> packetFlow. Runs on the engine's thread; the buffers are the
/// engine's and valid only during the call, so they are copied into Data.
private let tunproxyOutput: tp_output_fn = { ctx, pkts, lens, families, n in
    guard let ctx = ctx, let pkts = pkts, let lens = lens, let families = families else { return }
    let provider = Unmanaged<PacketTunnelProvider>.fromOpaque(ctx).takeUnretainedValue()
    var packets = [Data]()
    var protocols = [NSNumber]()
    packets.reserveCapacity(n)
    protocols.reserveCapacity(n)
    for i in 0..<n {
        guard let p = pkts[i] else { continue }
        packets.append(Data(bytes: p, count: lens[i]))
        protocols.append(NSNumber(value: families[i] == 6 ? AF_INET6 : AF_INET))
    }
    provider.packetFlow.writePackets(packets, withProtocols: protocols)
}

private let tunproxyLog: tp_log_fn = { _, level, msg in
    guard let msg = msg else { return }
    let type: OSLogType = level.rawValue <= TP_LOG_WARN.rawValue ? .error : .info
    os_log("%{public}s", type: type, String(cString: msg))
}

// MARK: - The fd alternative
//
// Instead of callback mode, the engine can read and write the utun fd
// behind packetFlow itself (fd mode, TP_FRAMING_UTUN: every packet carries
// utun's 4-byte address family). No packet crosses into Swift, so it costs
// fewer copies. There is no public API for that fd: the key path below is a
// private property of NEPacketTunnelFlow (App Review may object, and a
// future iOS may change it), so fall back to callback mode when it is
// missing. In fd mode do not call packetFlow.readPackets or writePackets.
//
//     if let fd = packetFlow.value(forKeyPath: "socket.fileDescriptor") as? Int32 {
//         var cfg = tp_config()
//         tp_config_init(&cfg)
//         cfg.tun_fd = fd                         // still the system's: not closed by tp_destroy
//         cfg.framing = UInt32(TP_FRAMING_UTUN.rawValue)
//         cfg.max_memory = 8 << 20
//         var tp: OpaquePointer?
//         if tp_create(&cfg, &tp) == 0 && tp_start(tp) == 0 { engine = tp }
//     }
