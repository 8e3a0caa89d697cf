#include "store/keys.h"

#include "base/vassert.h"
#include "model/keys.h"

#include <fmt/format.h>

namespace posd::store::keys {

bool is_known_tag(char t) {
    switch (static_cast<tag>(t)) {
    case tag::meta:
    case tag::position:
    case tag::managed_position:
    case tag::balance:
    case tag::concentration:
    case tag::pending:
    case tag::applied_id:
    case tag::applied_order:
    case tag::applied_range:
    case tag::cusip_index:
    case tag::batch_id:
    case tag::outbox_header:
    case tag::outbox_entry: return true;
    }
    return false;
}

bool is_changelog_tag(char t) {
    return is_known_tag(t) && t != static_cast<char>(tag::outbox_header) &&
           t != static_cast<char>(tag::outbox_entry);
}

std::string_view tag_name(char t) {
    switch (static_cast<tag>(t)) {
    case tag::meta: return "meta";
    case tag::position: return "position";
    case tag::managed_position: return "managed_position";
    case tag::balance: return "balance";
    case tag::concentration: return "concentration";
    case tag::pending: return "pending";
    case tag::applied_id: return "applied_id";
    case tag::applied_order: return "applied_order";
    case tag::applied_range: return "applied_range";
    case tag::cusip_index: return "cusip_index";
    case tag::batch_id: return "batch_id";
    case tag::outbox_header: return "outbox_header";
    case tag::outbox_entry: return "outbox_entry";
    }
    return "unknown";
}

void append_be32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xffu));
}

void append_be64(std::string& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xffu));
}

std::uint32_t read_be32(std::string_view in) {
    vassert(in.size() >= 4, "read_be32 of {} bytes", in.size());
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
    return v;
}

std::uint64_t read_be64(std::string_view in) {
    vassert(in.size() >= 8, "read_be64 of {} bytes", in.size());
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
    return v;
}

std::string partition_prefix(std::int32_t p) {
    vassert(p >= 0, "partition {} is negative", p);
    std::string out;
    append_be32(out, static_cast<std::uint32_t>(p));
    return out;
}

std::string partition_end(std::int32_t p) {
    vassert(p >= 0, "partition {} is negative", p);
    std::string out;
    // p <= INT32_MAX, so p + 1 fits in 32 unsigned bits.
    append_be32(out, static_cast<std::uint32_t>(p) + 1u);
    return out;
}

std::string pending_suffix(date settle_date, std::uint64_t sequence) {
    std::string out;
    // Flipping the sign bit orders negative day numbers before positive ones.
    append_be32(out, static_cast<std::uint32_t>(settle_date.days()) ^ 0x8000'0000u);
    append_be64(out, sequence);
    return out;
}

std::string concentration_suffix(std::string_view account_key, std::string_view cusip) {
    std::string out;
    out.reserve(account_key.size() + 1 + cusip.size());
    out.append(account_key);
    out.push_back('\0');
    out.append(cusip);
    return out;
}

void write_key(std::string& out, std::int32_t p, tag t, std::string_view natural) {
    vassert(p >= 0, "partition {} is negative", p);
    out.clear();
    append_be32(out, static_cast<std::uint32_t>(p));
    append_local_key(out, t, natural);
}

void append_local_key(std::string& out, tag t, std::string_view natural) {
    out.push_back(static_cast<char>(t));
    out.append(natural);
}

std::string describe(std::string_view full_key) {
    if (full_key.size() < partition_prefix_bytes + 1) return fmt::format("malformed key of {} bytes", full_key.size());
    const std::uint32_t p = read_be32(full_key);
    const char t = full_key[partition_prefix_bytes];
    std::string_view natural = full_key.substr(partition_prefix_bytes + 1);
    std::string shown;
    switch (static_cast<tag>(t)) {
    case tag::position:
    case tag::managed_position:
    case tag::balance: shown = model::mask_account(natural); break;
    case tag::concentration: {
        const auto nul = natural.find('\0');
        shown = model::mask_account(natural.substr(0, nul));
        if (nul != std::string_view::npos) shown += fmt::format(" cusip {}", natural.substr(nul + 1));
        break;
    }
    case tag::cusip_index: {
        const auto nul = natural.find('\0');
        shown = std::string(natural.substr(0, nul));
        if (nul != std::string_view::npos) shown += " " + model::mask_account(natural.substr(nul + 1));
        break;
    }
    case tag::pending:
        if (natural.size() == 12)
            shown = fmt::format("days {} sequence {}",
                                static_cast<std::int32_t>(read_be32(natural) ^ 0x8000'0000u),
                                read_be64(natural.substr(4)));
        break;
    case tag::applied_order:
    case tag::outbox_entry:
        if (natural.size() == 8) shown = fmt::format("{}", read_be64(natural));
        else if (natural.size() == 4) shown = fmt::format("{}", read_be32(natural));
        break;
    case tag::applied_id: shown = std::string(natural); break;
    default: break;
    }
    return fmt::format("partition {} {} {}", p, tag_name(t), shown);
}

} // namespace posd::store::keys
