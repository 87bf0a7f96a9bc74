#include "sync/EventBatch.h"

namespace troupe::sync {

std::string& EventBatch::add(std::string_view type) {
  items_.push_back(Item{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(type.size())});
  text_ += type;
  return text_;
}

std::string_view EventBatch::type(std::size_t i) const {
  return std::string_view(text_).substr(items_[i].type_begin, items_[i].type_size);
}

std::string_view EventBatch::fields(std::size_t i) const {
  const std::size_t begin = items_[i].type_begin + items_[i].type_size;
  const std::size_t end = i + 1 < items_.size() ? items_[i + 1].type_begin : text_.size();
  return std::string_view(text_).substr(begin, end - begin);
}

void EventBatch::clear() {
  text_.clear();
  items_.clear();
}

}  // namespace troupe::sync
